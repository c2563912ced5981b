namespace MaaS.Inference.Tests;

/// <summary>One host shared by a test class, with "linear" v1 (y = 2x + 1) and "kitchen" v1 loaded.</summary>
public sealed class InferenceFixture : IAsyncLifetime
{
    public InferenceHost Host { get; } = new();

    public async Task InitializeAsync()
    {
        await Host.LoadAsync("linear", 1, TestModels.Linear());
        await Host.LoadAsync("kitchen", 1, TestModels.Kitchen());
    }

    public async Task DisposeAsync() => await Host.DisposeAsync();
}
