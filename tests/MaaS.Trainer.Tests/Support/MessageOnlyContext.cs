using System.Reflection;
using MassTransit;

namespace MaaS.Trainer.Tests.Support;

/// <summary>
/// A ConsumeContext that carries only a message and a cancellation token, for calling a consumer directly
/// (what the broker does when its connection drops mid-message: the token fires). Any other member throws.
/// </summary>
public class MessageOnlyContext<T> : DispatchProxy
    where T : class
{
    private T message = null!;
    private CancellationToken token;

    /// <summary>A context for <paramref name="message"/> whose token is <paramref name="cancellationToken"/>.</summary>
    public static ConsumeContext<T> Create(T message, CancellationToken cancellationToken)
    {
        var proxy = Create<ConsumeContext<T>, MessageOnlyContext<T>>();
        var self = (MessageOnlyContext<T>)(object)proxy;
        (self.message, self.token) = (message, cancellationToken);
        return proxy;
    }

    /// <inheritdoc />
    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) => targetMethod?.Name switch
    {
        "get_Message" => message,
        "get_CancellationToken" => token,
        _ => throw new NotSupportedException($"{targetMethod?.Name} is not part of this test context."),
    };
}
