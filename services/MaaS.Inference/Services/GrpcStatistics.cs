using System.Globalization;
using Inference;
using MaaS.Inference.Runtime;
using Duration = Inference.StatisticDuration;

namespace MaaS.Inference.Services;

/// <summary>Statistics snapshots as Triton's ModelStatistics messages.</summary>
internal static class GrpcStatistics
{
    public static global::Inference.ModelStatistics ToProto(StatisticsSnapshot s)
    {
        var proto = new global::Inference.ModelStatistics
        {
            Name = s.Model,
            Version = s.Version.ToString(CultureInfo.InvariantCulture),
            LastInference = s.LastInferenceMs,
            InferenceCount = s.InferenceCount,
            ExecutionCount = s.ExecutionCount,
            InferenceStats = new InferStatistics
            {
                Success = D(s.Success),
                Fail = D(s.Fail),
                Queue = D(s.Queue),
                ComputeInput = D(s.ComputeInput),
                ComputeInfer = D(s.ComputeInfer),
                ComputeOutput = D(s.ComputeOutput),
                // No response cache here: zero, as Triton reports without one.
                CacheHit = new Duration(),
                CacheMiss = new Duration(),
            },
        };
        proto.BatchStats.AddRange(s.Batches.Select(b => new InferBatchStatistics
        {
            BatchSize = (ulong)b.BatchSize,
            ComputeInput = D(b.ComputeInput),
            ComputeInfer = D(b.ComputeInfer),
            ComputeOutput = D(b.ComputeOutput),
        }));
        proto.MemoryUsage.Add(new MemoryUsage { Type = s.MemoryType, Id = 0, ByteSize = (ulong)s.MemoryBytes });
        return proto;
    }

    private static Duration D(Runtime.DurationTotal d) => new() { Count = d.Count, Ns = d.Ns };
}
