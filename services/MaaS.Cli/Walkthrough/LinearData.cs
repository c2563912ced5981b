namespace MaaS.Cli.Walkthrough;

/// <summary>The seed document's example: rows of y = slope·x + intercept + Gaussian noise, x uniform in [0, 3).</summary>
public static class LinearData
{
    /// <summary>Generates <paramref name="count"/> (x, y) rows, reproducibly for a seed.</summary>
    public static List<double[]> Generate(int count, double slope, double intercept, double noise, int seed)
    {
        var random = new Random(seed);
        var rows = new List<double[]>(count);
        for (var i = 0; i < count; i++)
        {
            var x = random.NextDouble() * 3;
            // Box–Muller: two uniforms give one standard normal.
            var gaussian = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
            rows.Add([x, slope * x + intercept + noise * gaussian]);
        }
        return rows;
    }
}
