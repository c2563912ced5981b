using System.Diagnostics;

namespace MaaS.Gateway.Security;

/// <summary>
/// One key's rate limit: <see cref="Burst"/> tokens at most, refilled at <see cref="RatePerSecond"/>;
/// each request takes one. A lock per bucket (held for a few arithmetic operations) is the only
/// synchronisation, so callers of different keys never wait for each other.
/// </summary>
public sealed class TokenBucket
{
    public const double MaxRate = 1_000_000;
    public const int MaxBurst = 1_000_000;

    private readonly Lock gate = new();
    private readonly double ticksPerToken;
    private double tokens;
    private long lastRefill;

    public TokenBucket(double ratePerSecond, int burst)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(ratePerSecond);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(burst);
        RatePerSecond = ratePerSecond;
        Burst = burst;
        ticksPerToken = Stopwatch.Frequency / ratePerSecond;
        tokens = burst;
        lastRefill = Stopwatch.GetTimestamp();
    }

    public double RatePerSecond { get; }

    public int Burst { get; }

    /// <summary>The bucket a key's settings describe: null when unlimited (rate 0); burst 0 = the rate rounded up.</summary>
    public static TokenBucket? For(double ratePerSecond, int burst) =>
        ratePerSecond <= 0 ? null : new TokenBucket(ratePerSecond, EffectiveBurst(ratePerSecond, burst));

    /// <summary>The burst a key gets: its own, or the rate rounded up (at least 1).</summary>
    public static int EffectiveBurst(double ratePerSecond, int burst) =>
        burst > 0 ? burst : (int)Math.Clamp(Math.Ceiling(ratePerSecond), 1, MaxBurst);

    /// <summary>Takes one token; when none is left, false and how long until one is.</summary>
    public bool TryTake(out TimeSpan retryAfter)
    {
        lock (gate)
        {
            // Read inside the lock so that timestamps only move forward for this bucket.
            var now = Stopwatch.GetTimestamp();
            tokens = Math.Min(Burst, tokens + ((now - lastRefill) / ticksPerToken));
            lastRefill = now;
            if (tokens >= 1)
            {
                tokens -= 1;
                retryAfter = TimeSpan.Zero;
                return true;
            }
            retryAfter = TimeSpan.FromSeconds((1 - tokens) / RatePerSecond);
            return false;
        }
    }
}
