namespace MaaS.Gateway.Routing;

/// <summary>
/// Lets a deployment or alias event cut the poller's wait short, so traffic follows a new deployment
/// within a moment instead of within a poll interval. Many requests before the next poll count as one.
/// </summary>
public sealed class RoutingRefresh
{
    private readonly SemaphoreSlim _requested = new(0, 1);

    /// <summary>Asks for a poll now.</summary>
    public void Request()
    {
        try
        {
            _requested.Release();
        }
        catch (SemaphoreFullException)
        {
            // A poll is already requested.
        }
    }

    /// <summary>Waits until a poll is requested or the interval has passed.</summary>
    public Task WaitAsync(TimeSpan interval, CancellationToken ct) => _requested.WaitAsync(interval, ct);
}
