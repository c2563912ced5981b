using MaaS.ServiceDefaults.Data;

namespace MaaS.MarketModels;

/// <summary>
/// The market's training data, generated in code from fixed seeds (the shapes scikit-learn's
/// make_moons, make_blobs and make_circles draw), so every model in the catalog can be retrained
/// and checked by anyone. Values are rounded to 4 decimals so data.csv reads well.
/// </summary>
public static class SyntheticData
{
    /// <summary>y = slope·x + intercept + N(0, noise²), x uniform in [0, 3]; columns x, y.</summary>
    public static NumericTable Line(int rows, double slope, double intercept, double noise, int seed)
    {
        var random = new Random(seed);
        var data = new List<double[]>(rows);
        for (var i = 0; i < rows; i++)
        {
            var x = random.NextDouble() * 3;
            data.Add([Round(x), Round(slope * x + intercept + noise * Gaussian(random))]);
        }
        return new NumericTable(["x", "y"], data);
    }

    /// <summary>
    /// Two interleaving half circles: class 0 on (cos t, sin t), class 1 on (1 − cos t, 0.5 − sin t),
    /// t uniform in [0, π], plus N(0, noise²) on both coordinates; rows shuffled; columns x1, x2, label.
    /// </summary>
    public static NumericTable TwoMoons(int rows, double noise, int seed)
    {
        var random = new Random(seed);
        var data = new List<double[]>(rows);
        for (var i = 0; i < rows; i++)
        {
            var label = i % 2;
            var t = random.NextDouble() * Math.PI;
            var (x, y) = label == 0 ? (Math.Cos(t), Math.Sin(t)) : (1 - Math.Cos(t), 0.5 - Math.Sin(t));
            data.Add([Round(x + noise * Gaussian(random)), Round(y + noise * Gaussian(random)), label]);
        }
        return Shuffled(["x1", "x2", "label"], data, random);
    }

    /// <summary>Gaussian blobs in 2-D, one per centre (class i around centres[i]), equal sizes; rows shuffled; columns x1, x2, label.</summary>
    public static NumericTable Blobs(int rowsPerClass, IReadOnlyList<(double X, double Y)> centres, double spread, int seed)
    {
        var random = new Random(seed);
        var data = new List<double[]>(rowsPerClass * centres.Count);
        for (var i = 0; i < rowsPerClass; i++)
        {
            for (var c = 0; c < centres.Count; c++)
            {
                data.Add([Round(centres[c].X + spread * Gaussian(random)), Round(centres[c].Y + spread * Gaussian(random)), c]);
            }
        }
        return Shuffled(["x1", "x2", "label"], data, random);
    }

    /// <summary>
    /// Two concentric circles: class 0 on the unit circle, class 1 on a circle of radius <paramref name="factor"/>,
    /// plus N(0, noise²) on both coordinates; rows shuffled; columns x1, x2, label.
    /// </summary>
    public static NumericTable Circles(int rows, double factor, double noise, int seed)
    {
        var random = new Random(seed);
        var data = new List<double[]>(rows);
        for (var i = 0; i < rows; i++)
        {
            var label = i % 2;
            var t = random.NextDouble() * 2 * Math.PI;
            var r = label == 0 ? 1.0 : factor;
            data.Add([Round(r * Math.Cos(t) + noise * Gaussian(random)), Round(r * Math.Sin(t) + noise * Gaussian(random)), label]);
        }
        return Shuffled(["x1", "x2", "label"], data, random);
    }

    private static NumericTable Shuffled(string[] columns, List<double[]> rows, Random random)
    {
        var array = rows.ToArray();
        random.Shuffle(array);
        return new NumericTable(columns, array);
    }

    private static double Round(double value) => Math.Round(value, 4, MidpointRounding.ToEven);

    // Box-Muller: a standard normal sample from two uniform ones.
    private static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
