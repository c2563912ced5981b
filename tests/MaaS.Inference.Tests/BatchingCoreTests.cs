using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Grpc.Core;
using MaaS.Inference.Runtime;
using MaaS.Inference.Runtime.Batching;

namespace MaaS.Inference.Tests;

/// <summary>
/// The dynamic batcher on its own, with a fake model that doubles its input: which requests share a run, that each
/// gets exactly its own rows back, and what leaves the queue without running.
/// </summary>
public sealed class BatchingCoreTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task SubmitAsync_RequestsQueuedTogether_ShareOneRunAndGetTheirOwnRows()
    {
        var model = new DoublingModel();
        await using var batcher = model.Batcher(new BatchingSettings(8, [], TimeSpan.FromMilliseconds(5), 100));
        var blocker = await model.HoldAsync(batcher);

        var tasks = Enumerable.Range(1, 8).Select(i => batcher.SubmitAsync([Fp32("x", 1, [i, -i])])).ToList();
        model.Release();
        await blocker;
        var results = await Task.WhenAll(tasks).WaitAsync(Patience);

        for (var i = 0; i < results.Length; i++)
        {
            Assert.Equal(new[] { 2f * (i + 1), -2f * (i + 1) }, Floats(results[i].Outputs[0]));
            Assert.Equal(new long[] { 1, 2 }, results[i].Outputs[0].Shape);
            Assert.Equal(8, results[i].BatchRows);
        }
        Assert.Contains(model.Batches, b => b.Requests == 8 && b.Rows == 8);
    }

    [Fact]
    public async Task SubmitAsync_ManyConcurrentRequestsOfDifferentRows_EachGetsExactlyItsOwnValues()
    {
        var model = new DoublingModel();
        await using var batcher = model.Batcher(new BatchingSettings(16, [4, 8], TimeSpan.FromMilliseconds(2), 1000));
        var blocker = await model.HoldAsync(batcher);

        var tasks = new List<Task<BatchResult>>();
        var expected = new List<float[]>();
        for (var i = 0; i < 64; i++)
        {
            var rows = 1 + i % 3;
            var values = Enumerable.Range(0, rows * 3).Select(j => i * 100f + j + 0.25f).ToArray();
            expected.Add(values.Select(v => v * 2).ToArray());
            tasks.Add(Task.Run(() => batcher.SubmitAsync([Fp32("x", rows, values)])));
        }
        Assert.True(SpinWait.SpinUntil(() => batcher.QueueLength == 64, Patience), "the requests never reached the queue");
        model.Release();
        await blocker;
        var results = await Task.WhenAll(tasks).WaitAsync(Patience);

        for (var i = 0; i < results.Length; i++)
        {
            Assert.Equal(expected[i], Floats(results[i].Outputs[0]));
            Assert.Equal(new long[] { 1 + i % 3, 3 }, results[i].Outputs[0].Shape);
        }
        Assert.Contains(model.Batches, b => b.Requests > 1);
        Assert.All(model.Batches, b => Assert.True(b.Rows <= 16 || b.Requests == 1));
        Assert.Equal(65, model.Executions.Sum(e => e.Requests));
    }

    [Fact]
    public async Task SubmitAsync_PreferredSizeReached_RunsWithoutWaitingForTheDelay()
    {
        var model = new DoublingModel();
        await using var batcher = model.Batcher(new BatchingSettings(16, [4], TimeSpan.FromHours(1), 100));

        var tasks = Enumerable.Range(0, 4).Select(i => batcher.SubmitAsync([Fp32("x", 1, [i, i])])).ToList();
        var results = await Task.WhenAll(tasks).WaitAsync(Patience);

        Assert.All(results, r => Assert.Equal(4, r.BatchRows));
        Assert.Equal(new[] { 6f, 6f }, Floats(results[3].Outputs[0]));
        Assert.Single(model.Batches);
    }

    [Fact]
    public async Task SubmitAsync_LoneRequest_RunsOnceTheDelayPassed()
    {
        var model = new DoublingModel();
        await using var batcher = model.Batcher(new BatchingSettings(8, [4], TimeSpan.FromMilliseconds(20), 100));

        var result = await batcher.SubmitAsync([Fp32("x", 1, [1.5f, 2.5f])]).WaitAsync(Patience);

        Assert.Equal(new[] { 3f, 5f }, Floats(result.Outputs[0]));
        Assert.Equal(1, result.BatchRows);
    }

    [Fact]
    public async Task SubmitAsync_QueueFull_IsResourceExhaustedNamingModelVersionAndSize()
    {
        var model = new DoublingModel();
        await using var batcher = model.Batcher(new BatchingSettings(8, [], TimeSpan.FromMilliseconds(5), 2));
        var blocker = await model.HoldAsync(batcher);
        var queued = new[] { batcher.SubmitAsync([Fp32("x", 1, [1, 1])]), batcher.SubmitAsync([Fp32("x", 1, [2, 2])]) };

        var error = await Assert.ThrowsAsync<RpcException>(() => batcher.SubmitAsync([Fp32("x", 1, [3, 3])]));

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Contains("'doubler' version 7", error.Status.Detail);
        Assert.Contains("2 requests", error.Status.Detail);
        model.Release();
        await blocker;
        Assert.Equal(2, (await Task.WhenAll(queued).WaitAsync(Patience)).Length);
    }

    [Fact]
    public async Task SubmitAsync_CancelledWhileQueued_EndsCancelledAndNeverRuns()
    {
        var model = new DoublingModel();
        await using var batcher = model.Batcher(new BatchingSettings(8, [], TimeSpan.FromMilliseconds(5), 100));
        var blocker = await model.HoldAsync(batcher);
        using var cancel = new CancellationTokenSource();
        var doomed = batcher.SubmitAsync([Fp32("x", 1, [42, 42])], cancel.Token);
        var kept = batcher.SubmitAsync([Fp32("x", 1, [7, 7])]);

        cancel.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => doomed.WaitAsync(Patience));
        Assert.True(doomed.IsCanceled);
        Assert.Equal(1, batcher.QueueLength);
        model.Release();
        await blocker;
        Assert.Equal(new[] { 14f, 14f }, Floats((await kept.WaitAsync(Patience)).Outputs[0]));
        Assert.DoesNotContain(model.Batches, b => b.Values.Contains(42f));
    }

    [Fact]
    public async Task SubmitAsync_DeadlinePassesWhileQueued_IsDeadlineExceededAndNeverRuns()
    {
        var model = new DoublingModel();
        await using var batcher = model.Batcher(new BatchingSettings(8, [], TimeSpan.FromMilliseconds(5), 100));
        var blocker = await model.HoldAsync(batcher);

        var late = batcher.SubmitAsync([Fp32("x", 1, [42, 42])], deadline: DateTime.UtcNow.AddMilliseconds(50));

        var error = await Assert.ThrowsAsync<RpcException>(() => late.WaitAsync(Patience));
        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        model.Release();
        await blocker;
        await batcher.SubmitAsync([Fp32("x", 1, [1, 1])]).WaitAsync(Patience);
        Assert.DoesNotContain(model.Batches, b => b.Values.Contains(42f));
    }

    [Fact]
    public async Task SubmitAsync_DifferentTrailingShapesOrDatatypes_NeverShareARun()
    {
        var model = new DoublingModel();
        await using var batcher = model.Batcher(new BatchingSettings(8, [], TimeSpan.FromMilliseconds(5), 100));
        var blocker = await model.HoldAsync(batcher);

        var two = new[] { batcher.SubmitAsync([Fp32("x", 1, [1, 2])]), batcher.SubmitAsync([Fp32("x", 2, [3, 4, 5, 6])]) };
        var three = new[] { batcher.SubmitAsync([Fp32("x", 1, [1, 2, 3])]), batcher.SubmitAsync([Fp32("x", 1, [4, 5, 6])]) };
        var ints = batcher.SubmitAsync([Int32("x", 1, [5, 6])]);
        model.Release();
        await blocker;

        var twoResults = await Task.WhenAll(two).WaitAsync(Patience);
        var threeResults = await Task.WhenAll(three).WaitAsync(Patience);
        var intResult = await ints.WaitAsync(Patience);
        Assert.Equal(new[] { 6f, 8f, 10f, 12f }, Floats(twoResults[1].Outputs[0]));
        Assert.Equal(new[] { 8f, 10f, 12f }, Floats(threeResults[1].Outputs[0]));
        Assert.Equal(new[] { 10, 12 }, MemoryMarshal.Cast<byte, int>(intResult.Outputs[0].Data.Span).ToArray());
        Assert.Equal(3, twoResults[0].BatchRows);
        Assert.Equal(2, threeResults[0].BatchRows);
        Assert.Equal(1, intResult.BatchRows);
    }

    [Fact]
    public async Task SubmitAsync_RequestLargerThanMaxBatchSize_RunsAlone()
    {
        var model = new DoublingModel();
        await using var batcher = model.Batcher(new BatchingSettings(4, [], TimeSpan.FromMilliseconds(5), 100));
        var blocker = await model.HoldAsync(batcher);

        var big = batcher.SubmitAsync([Fp32("x", 6, Enumerable.Range(0, 12).Select(i => (float)i).ToArray())]);
        var small = new[] { batcher.SubmitAsync([Fp32("x", 1, [1, 1])]), batcher.SubmitAsync([Fp32("x", 1, [2, 2])]) };
        model.Release();
        await blocker;

        var bigResult = await big.WaitAsync(Patience);
        var smallResults = await Task.WhenAll(small).WaitAsync(Patience);
        Assert.Equal(Enumerable.Range(0, 12).Select(i => 2f * i), Floats(bigResult.Outputs[0]));
        Assert.Equal(1, bigResult.BatchRequests);
        Assert.Equal(6, bigResult.BatchRows);
        Assert.Equal(2, smallResults[0].BatchRows);
        Assert.Equal(new[] { 4f, 4f }, Floats(smallResults[1].Outputs[0]));
    }

    [Fact]
    public async Task SubmitAsync_RunFails_FailsOnlyThatBatch()
    {
        var model = new DoublingModel { FailOn = -1 };
        await using var batcher = model.Batcher(new BatchingSettings(8, [], TimeSpan.FromMilliseconds(5), 100));
        var blocker = await model.HoldAsync(batcher);

        var poisoned = new[] { batcher.SubmitAsync([Fp32("x", 1, [-1, 0])]), batcher.SubmitAsync([Fp32("x", 1, [3, 3])]) };
        var other = batcher.SubmitAsync([Fp32("x", 1, [1, 2, 3])]);
        model.Release();
        await blocker;

        foreach (var task in poisoned)
        {
            var error = await Assert.ThrowsAsync<InvalidOperationException>(() => task.WaitAsync(Patience));
            Assert.Equal("the model refused -1", error.Message);
        }
        Assert.Equal(new[] { 2f, 4f, 6f }, Floats((await other.WaitAsync(Patience)).Outputs[0]));
        Assert.Single(model.Executions, e => !e.Succeeded && e.Requests == 2);
    }

    [Fact]
    public async Task SubmitAsync_OutputRowsDifferFromBatchRows_FailsEveryRequestOfTheBatchWithASentence()
    {
        var model = new DoublingModel { DropLastRow = true };
        await using var batcher = model.Batcher(new BatchingSettings(8, [2], TimeSpan.FromHours(1), 100));

        var tasks = new[] { batcher.SubmitAsync([Fp32("x", 1, [1, 1])]), batcher.SubmitAsync([Fp32("x", 1, [2, 2])]) };

        foreach (var task in tasks)
        {
            var error = await Assert.ThrowsAsync<RpcException>(() => task.WaitAsync(Patience));
            Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
            Assert.Contains("output 'y' of shape [1,2]", error.Status.Detail);
            Assert.Contains("batch of 2 rows", error.Status.Detail);
        }
    }

    [Fact]
    public async Task SubmitAsync_BytesTensors_AreNeverBatched()
    {
        var model = new DoublingModel();
        await using var batcher = model.Batcher(new BatchingSettings(8, [], TimeSpan.FromMilliseconds(5), 100));
        var blocker = await model.HoldAsync(batcher);

        byte[] text = [2, 0, 0, 0, (byte)'h', (byte)'i'];
        var tasks = new[]
        {
            batcher.SubmitAsync([new BatchTensor("s", "BYTES", 0, [1], text)]),
            batcher.SubmitAsync([new BatchTensor("s", "BYTES", 0, [1], text)]),
        };
        model.Release();
        await blocker;

        var results = await Task.WhenAll(tasks).WaitAsync(Patience);
        Assert.All(results, r => Assert.Equal(1, r.BatchRequests));
        Assert.All(results, r => Assert.Equal(text, r.Outputs[0].Data.ToArray()));
    }

    [Fact]
    public async Task DisposeAsync_WithQueuedRequests_RunsThemAndRefusesNewOnes()
    {
        var model = new DoublingModel();
        var batcher = model.Batcher(new BatchingSettings(8, [], TimeSpan.FromHours(1), 100));
        var blocker = await model.HoldAsync(batcher);
        var queued = Enumerable.Range(1, 3).Select(i => batcher.SubmitAsync([Fp32("x", 1, [i, i])])).ToList();

        var disposing = batcher.DisposeAsync().AsTask();
        var refused = await Assert.ThrowsAsync<RpcException>(() => batcher.SubmitAsync([Fp32("x", 1, [9, 9])]));
        model.Release();
        await disposing.WaitAsync(Patience);

        Assert.Equal(StatusCode.Unavailable, refused.StatusCode);
        await blocker;
        var results = await Task.WhenAll(queued);
        Assert.Equal(new[] { 6f, 6f }, Floats(results[2].Outputs[0]));
    }

    [Fact]
    public async Task Flush_RequestWaitingForTheDelay_RunsAndLaterRequestsAreStillTaken()
    {
        var model = new DoublingModel();
        await using var batcher = model.Batcher(new BatchingSettings(8, [], TimeSpan.FromHours(1), 100));
        var waiting = batcher.SubmitAsync([Fp32("x", 1, [1, 2])]);

        batcher.Flush();
        var late = batcher.SubmitAsync([Fp32("x", 1, [3, 4])]);

        Assert.Equal(new[] { 2f, 4f }, Floats((await waiting.WaitAsync(Patience)).Outputs[0]));
        Assert.Equal(new[] { 6f, 8f }, Floats((await late.WaitAsync(Patience)).Outputs[0]));
    }

    [Fact]
    public async Task SubmitAsync_EveryRun_IsReportedWithBatchSizeAndTimes()
    {
        var model = new DoublingModel();
        await using var batcher = model.Batcher(new BatchingSettings(4, [], TimeSpan.FromMilliseconds(5), 100));
        var blocker = await model.HoldAsync(batcher);
        var tasks = Enumerable.Range(1, 4).Select(i => batcher.SubmitAsync([Fp32("x", 1, [i, i])])).ToList();
        model.Release();
        await blocker;
        await Task.WhenAll(tasks).WaitAsync(Patience);

        var execution = Assert.Single(model.Executions, e => e.Requests == 4);
        Assert.Equal(4, execution.Rows);
        Assert.True(execution.Succeeded);
        Assert.True(execution.QueueNs > 0);
        Assert.True(execution.ComputeNs > 0);
    }

    [Fact]
    public async Task SubmitAsync_TwoInstances_SecondBatchRunsWhileFirstIsStillRunning()
    {
        var model = new DoublingModel();
        await using var batcher = model.Batcher(new BatchingSettings(8, [], TimeSpan.FromMilliseconds(1), 100), instances: 2);

        // Each hold waits until its request is inside the run: the second gets there only if two runs go at once.
        var first = await model.HoldAsync(batcher);
        var second = await model.HoldAsync(batcher);
        model.Release();
        await Task.WhenAll(first, second).WaitAsync(Patience);

        Assert.Equal(2, model.Batches.Count);
    }

    private static BatchTensor Fp32(string name, long rows, float[] values) =>
        new(name, "FP32", 4, [rows, values.Length / rows], MemoryMarshal.AsBytes(values.AsSpan()).ToArray());

    private static BatchTensor Int32(string name, long rows, int[] values) =>
        new(name, "INT32", 4, [rows, values.Length / rows], MemoryMarshal.AsBytes(values.AsSpan()).ToArray());

    private static float[] Floats(BatchTensor tensor) => MemoryMarshal.Cast<byte, float>(tensor.Data.Span).ToArray();

    /// <summary>What one run saw.</summary>
    private sealed record SeenBatch(int Requests, long Rows, IReadOnlyList<float> Values);

    /// <summary>
    /// y = 2x for FP32 and INT32, BYTES echoed; records every run, can be held inside a run so that requests pile up
    /// in the queue, and fails a run that sees <see cref="FailOn"/>.
    /// </summary>
    private sealed class DoublingModel
    {
        private readonly ManualResetEventSlim open = new(true);
        private readonly SemaphoreSlim entered = new(0);

        public ConcurrentQueue<SeenBatch> Batches { get; } = new();

        public ConcurrentQueue<BatchExecution> Executions { get; } = new();

        public float? FailOn { get; init; }

        public bool DropLastRow { get; init; }

        /// <summary>One instance unless asked: then a held run holds the whole batcher and requests pile up behind it.</summary>
        public DynamicBatcher Batcher(BatchingSettings settings, int instances = 1) =>
            new("doubler", 7, settings with { Instances = instances }, Run, Executions.Enqueue);

        /// <summary>
        /// Sends a request that stays inside the run until <see cref="Release"/>; larger than any maximum batch size
        /// here, so it runs alone at once whatever the queue delay.
        /// </summary>
        public async Task<Task<BatchResult>> HoldAsync(DynamicBatcher batcher)
        {
            open.Reset();
            var blocker = batcher.SubmitAsync([new BatchTensor("x", "FP32", 4, [1024, 1], new byte[4096])]);
            Assert.True(await entered.WaitAsync(Patience), "the blocking request never reached the run");
            return blocker;
        }

        public void Release() => open.Set();

        private BatchOutputs Run(BatchInputs inputs, CancellationToken cancellationToken)
        {
            var x = inputs.Tensors[0];
            var data = x.ToArray();
            var values = x.Datatype == "FP32" ? MemoryMarshal.Cast<byte, float>(data).ToArray() : [];
            Batches.Enqueue(new SeenBatch(inputs.Requests, inputs.Rows, values));
            entered.Release();
            Assert.True(open.Wait(Patience), "the test never released the run");

            if (FailOn is { } poison && values.Contains(poison))
            {
                throw new InvalidOperationException($"the model refused {poison}");
            }
            switch (x.Datatype)
            {
                case "FP32":
                    foreach (ref var v in MemoryMarshal.Cast<byte, float>(data.AsSpan()))
                    {
                        v *= 2;
                    }
                    break;
                case "INT32":
                    foreach (ref var v in MemoryMarshal.Cast<byte, int>(data.AsSpan()))
                    {
                        v *= 2;
                    }
                    break;
            }
            var shape = (long[])x.Shape.Clone();
            if (DropLastRow)
            {
                shape[0]--;
                data = data[..(int)(shape[0] * x.RowBytes)];
            }
            return new BatchOutputs([new BatchTensor("y", x.Datatype, x.ElementSize, shape, data)]);
        }
    }
}
