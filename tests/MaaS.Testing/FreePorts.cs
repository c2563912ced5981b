using System.Net;
using System.Net.Sockets;

namespace MaaS.Testing;

/// <summary>Free TCP ports on 127.0.0.1.</summary>
public static class FreePorts
{
    /// <summary>A free port (bound and released; the OS does not hand it out again at once).</summary>
    public static int One()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary><paramref name="count"/> different free ports.</summary>
    public static int[] Distinct(int count)
    {
        var ports = new HashSet<int>();
        while (ports.Count < count) ports.Add(One());
        return [.. ports];
    }

    /// <summary><paramref name="count"/> ports from <paramref name="portBase"/> on, or free ones when it is 0.</summary>
    public static int[] FromBase(int portBase, int count) =>
        portBase > 0 ? Enumerable.Range(portBase, count).ToArray() : Distinct(count);
}
