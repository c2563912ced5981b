using System.Globalization;
using TorchSharp;

namespace MaaS.MarketModels;

/// <summary>
/// dotnet run -c Release --project tests/MaaS.MarketModels -- --out services/MaaS.Registry/Market/catalog
/// Trains the market's ready models and writes them with their cards, data and the training templates.
/// </summary>
public static class MarketModelsTool
{
    /// <summary>Entry point; returns 0 on success, 2 on bad arguments.</summary>
    public static int Main(string[] args)
    {
        var output = MarketCatalog.DefaultOutput;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--out" when i + 1 < args.Length:
                    output = args[++i];
                    break;
                case "-h" or "--help":
                    Console.WriteLine("usage: MaaS.MarketModels [--out DIR]   (default " + MarketCatalog.DefaultOutput + ")");
                    return 0;
                default:
                    Console.Error.WriteLine($"unknown or incomplete argument '{args[i]}'; usage: MaaS.MarketModels [--out DIR]");
                    return 2;
            }
        }
        // One thread: the same bytes on every re-run, whatever the machine's core count.
        torch.set_num_threads(1);
        foreach (var model in MarketCatalog.Generate(output))
        {
            var metrics = string.Join(", ", model.Metrics.Select(m => string.Create(CultureInfo.InvariantCulture, $"{m.Key} {m.Value:G6}")));
            Console.WriteLine($"{model.Name}: {model.Directory} ({metrics})");
        }
        Console.WriteLine($"templates: {Path.Combine(output, "templates")}");
        return 0;
    }
}
