using System.Net;
using System.Net.Sockets;

namespace MaaS.Testing;

/// <summary>Free TCP ports on 127.0.0.1.</summary>
public static class FreePorts
{
    // Below Linux's ephemeral range (32768-60999): a port from that range, free when checked, can be taken by any
    // outgoing connection (a client, the broker, a replica) before the service that was given it binds it.
    private const int Low = 20_000, High = 32_000;
    private static readonly HashSet<int> Handed = [];

    /// <summary>A port that was free when checked, never handed out twice by this process.</summary>
    public static int One()
    {
        lock (Handed)
        {
            for (var attempt = 0; attempt < 200; attempt++)
            {
                var port = Random.Shared.Next(Low, High);
                if (Handed.Contains(port) || !IsFree(port)) continue;
                Handed.Add(port);
                return port;
            }
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var any = ((IPEndPoint)listener.LocalEndpoint).Port;
            Handed.Add(any);
            return any;
        }
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
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
