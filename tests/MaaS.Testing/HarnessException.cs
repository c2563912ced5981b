namespace MaaS.Testing;

/// <summary>A harness step (a build, a service, an infra script) could not run; the message says what to do.</summary>
public sealed class HarnessException(string message) : Exception(message);
