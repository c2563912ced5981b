using MaaS.Updater.Cleaning;

namespace MaaS.Updater.Tests;

public class RowCleanerTests
{
    [Fact]
    public void Clean_MixedBatch_KeepsGoodRowsAndCountsEachReason()
    {
        double[][] rows =
        [
            [1, 3],
            [2, double.NaN],
            [double.PositiveInfinity, 1],
            [1, 3],
            [4],
            [5, 11],
        ];

        var result = RowCleaner.Clean([0, 1], rows, _ => false);

        Assert.Equal([[1.0, 3.0], [5.0, 11.0]], result.Kept);
        Assert.Equal(2, result.Dropped[CleaningResult.NotFinite]);
        Assert.Equal(1, result.Dropped[CleaningResult.Duplicate]);
        Assert.Equal(1, result.Dropped[CleaningResult.WrongColumnCount]);
        Assert.Equal([1L, 2, 3, 4], result.Issues.Select(i => i.Row));
    }

    [Fact]
    public void Clean_RangesAndMissingValues_ReportsColumn()
    {
        IngestRow[] rows =
        [
            new([1, 50]),
            new([null, 2]),
            new([3, -1]),
            new([1.5, 3], CleaningResult.NotNumeric, "b"),
            new([2, 2]),
        ];
        var ranges = new Dictionary<string, MaaS.Updater.V1.ValueRange> { ["b"] = new() { Min = 0, Max = 10 } };

        var result = RowCleaner.Clean([0, 1], ["a", "b"], rows, ranges, _ => false);

        Assert.Equal([[2.0, 2.0]], result.Kept);
        Assert.Equal(
            [(0L, "out_of_range", "b"), (1L, "missing", "a"), (2L, "out_of_range", "b"), (3L, "not_numeric", "b")],
            result.Issues.Select(i => (i.Row, i.Reason, i.Column)));
        Assert.Equal(CleaningResult.Reasons.Length, result.Dropped.Count);
    }

    [Fact]
    public void Clean_ColumnsInOtherOrder_ReordersToModelOrder()
    {
        // Given columns (y, x); the model's order is (x, y).
        var result = RowCleaner.Clean([1, 0], [[7.0, 3.0]], _ => false);

        Assert.Equal([3.0, 7.0], result.Kept.Single());
    }

    [Fact]
    public void Clean_RowAlreadyStored_IsDuplicate()
    {
        var stored = RowCleaner.Key([1.0, 3.0]);

        var result = RowCleaner.Clean([0, 1], [[1.0, 3.0], [2.0, 5.0]], key => key == stored);

        Assert.Single(result.Kept);
        Assert.Equal(1, result.Dropped[CleaningResult.Duplicate]);
    }
}
