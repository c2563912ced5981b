using Grpc.Core;

namespace MaaS.Registry.Tests;

/// <summary>Assertions on refused calls: the status a client sees and the words of its sentence.</summary>
public static class Expect
{
    /// <summary>Asserts that <paramref name="call"/> fails with <paramref name="code"/> and a detail containing every fragment.</summary>
    public static async Task<RpcException> Status(StatusCode code, Func<Task> call, params string[] fragments)
    {
        var error = await Assert.ThrowsAsync<RpcException>(call);
        Assert.True(code == error.StatusCode, $"Expected {code}, got {error.StatusCode}: {error.Status.Detail}");
        foreach (var fragment in fragments)
        {
            Assert.Contains(fragment, error.Status.Detail);
        }
        return error;
    }
}
