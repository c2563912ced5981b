using MaaS.Gateway.Forwarding;

namespace MaaS.Gateway.Tests;

public sealed class GrpcDeadlineTests
{
    [Theory]
    [InlineData("5S", 5000)]
    [InlineData("250m", 250)]
    [InlineData("1M", 60_000)]
    [InlineData("2000000u", 2000)]
    public void TryParse_ValidTimeout_GivesDuration(string value, int milliseconds)
    {
        Assert.True(GrpcDeadline.TryParse(value, out var timeout));
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), timeout);
    }

    [Theory]
    [InlineData("")]
    [InlineData("5")]
    [InlineData("S")]
    [InlineData("5x")]
    [InlineData("123456789S")]
    [InlineData("-5S")]
    public void TryParse_Malformed_IsRefused(string value)
    {
        Assert.False(GrpcDeadline.TryParse(value, out _));
    }
}
