using MaaS.Gateway.Security;

namespace MaaS.Gateway.Tests.Security;

public sealed class ApiKeyTokenTests
{
    [Fact]
    public void Generate_TwoKeys_WellFormedDistinctAndMatchingOnlyTheirOwnHash()
    {
        var (id1, token1) = ApiKeyToken.Generate();
        var (_, token2) = ApiKeyToken.Generate();

        Assert.True(ApiKeyToken.TryGetId(token1, out var parsed));
        Assert.Equal(id1, parsed.ToString());
        Assert.Equal(65, token1.Length);
        Assert.NotEqual(token1, token2);
        Assert.True(ApiKeyToken.Matches(token1, ApiKeyToken.Hash(token1)));
        Assert.False(ApiKeyToken.Matches(token2, ApiKeyToken.Hash(token1)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("maas_")]
    [InlineData("maas_0123456789abcdef")]
    [InlineData("maas_0123456789ABCDEF_secret")]
    [InlineData("maas_0123456789abcdeX_secret")]
    [InlineData("sk_0123456789abcdef_secret")]
    public void TryGetId_NotATokenShape_False(string token) =>
        Assert.False(ApiKeyToken.TryGetId(token, out _));

    [Fact]
    public void TryTake_BurstUsedUp_RefusedWithTimeUntilNextToken()
    {
        var bucket = new TokenBucket(ratePerSecond: 0.01, burst: 2);

        Assert.True(bucket.TryTake(out _));
        Assert.True(bucket.TryTake(out _));
        Assert.False(bucket.TryTake(out var retryAfter));
        // One token takes 100 s at 0.01/s; the few microseconds since the refill barely count.
        Assert.InRange(retryAfter.TotalSeconds, 99, 100);
    }

    [Fact]
    public void For_RateZero_Unlimited() => Assert.Null(TokenBucket.For(0, 5));

    [Fact]
    public void EffectiveBurst_NoBurstGiven_RateRoundedUp() => Assert.Equal(3, TokenBucket.EffectiveBurst(2.5, 0));
}
