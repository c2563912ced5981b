using System.Diagnostics;
using System.Text;
using Grpc.Core;
using MaaS.ServiceDefaults;

namespace MaaS.Inference.Runtime.Batching;

/// <summary>
/// Dynamic batching of one model version (Triton's dynamic_batcher). Requests wait in a bounded queue; one
/// consumer forms a batch as soon as the rows pending reach a preferred batch size or the maximum, or when the
/// oldest request has waited the maximum queue delay, runs it once and splits the outputs back. Up to
/// <see cref="BatchingSettings.Instances"/> batches run at once; while all are busy, the queue keeps filling, so
/// the next batch is larger. Only requests
/// whose inputs have the same datatypes and the same shapes apart from dimension 0 share a run; a request that
/// cannot be batched (BYTES, scalars, inputs of different row counts, more rows than the maximum) runs alone.
/// A request cancelled or past its deadline while queued leaves the queue without running.
/// </summary>
public sealed class DynamicBatcher : IAsyncDisposable
{
    /// <summary>Queue bound used when the settings give none.</summary>
    public const int DefaultMaxQueueSize = 1024;

    private readonly object gate = new();
    private readonly LinkedList<Pending> queue = new();
    private readonly SemaphoreSlim wakeup = new(0);
    private readonly Func<BatchInputs, CancellationToken, BatchOutputs> run;
    private readonly Action<BatchExecution>? onBatch;
    private readonly HashSet<int> preferred;
    private readonly int maxBatchSize;
    private readonly int maxQueueSize;
    private readonly long maxDelayTicks;
    private readonly string what;
    private readonly Task consumer;
    private readonly SemaphoreSlim instances;
    private readonly int instanceCount;
    private bool consumerWaiting;
    private bool completing;
    private bool flushing;

    /// <summary>Starts the batcher's consumer.</summary>
    /// <param name="model">Model name, for sentences.</param>
    /// <param name="version">Version, for sentences.</param>
    /// <param name="settings">Maximum batch size (rows), preferred sizes, maximum queue delay and queue size (requests; 0 = <see cref="DefaultMaxQueueSize"/>).</param>
    /// <param name="run">Runs one batch; called by up to <see cref="BatchingSettings.Instances"/> threads at a time.</param>
    /// <param name="onBatch">Told about every run (batch size, queue and compute time) before its requests are answered.</param>
    public DynamicBatcher(string model, long version, BatchingSettings settings,
        Func<BatchInputs, CancellationToken, BatchOutputs> run, Action<BatchExecution>? onBatch = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(run);
        Model = model;
        Version = version;
        what = $"Model '{model}' version {version}";
        this.run = run;
        this.onBatch = onBatch;
        maxBatchSize = Math.Max(1, settings.MaxBatchSize);
        maxQueueSize = settings.MaxQueueSize > 0 ? settings.MaxQueueSize : DefaultMaxQueueSize;
        preferred = settings.PreferredBatchSizes.Where(size => size > 0 && size <= maxBatchSize).ToHashSet();
        maxDelayTicks = settings.MaxQueueDelay <= TimeSpan.Zero ? 0 : (long)(settings.MaxQueueDelay.TotalSeconds * Stopwatch.Frequency);
        instanceCount = Math.Max(1, settings.Instances);
        instances = new SemaphoreSlim(instanceCount, instanceCount);
        consumer = Task.Run(ConsumeAsync);
    }

    /// <summary>Model name.</summary>
    public string Model { get; }

    /// <summary>Version.</summary>
    public long Version { get; }

    /// <summary>Requests waiting in the queue (not counting the batch running).</summary>
    public int QueueLength
    {
        get
        {
            lock (gate)
            {
                return queue.Count;
            }
        }
    }

    /// <summary>Completes once <see cref="Complete"/> was called and every queued request has run.</summary>
    public Task Completion => consumer;

    /// <summary>
    /// Queues one request and completes with its own rows of every output. Faults with ResourceExhausted when
    /// the queue is full, Unavailable once the batcher is completing, DeadlineExceeded when
    /// <paramref name="deadline"/> passes while queued, and ends cancelled when <paramref name="cancellationToken"/>
    /// fires while queued; the run's own exception when the run fails.
    /// </summary>
    /// <param name="inputs">The request's inputs, each with dimension 0 as the batch dimension.</param>
    /// <param name="cancellationToken">The caller's cancellation.</param>
    /// <param name="deadline">When the caller stops waiting (UTC); null or <see cref="DateTime.MaxValue"/> for none.</param>
    public Task<BatchResult> SubmitAsync(IReadOnlyList<BatchTensor> inputs, CancellationToken cancellationToken = default, DateTime? deadline = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<BatchResult>(cancellationToken);
        }
        var due = deadline is { } d && d != DateTime.MaxValue ? d.ToUniversalTime() : (DateTime?)null;
        if (due is { } expired && expired <= DateTime.UtcNow)
        {
            return Task.FromException<BatchResult>(DeadlineExceeded());
        }

        var pending = new Pending(this, Arrange(inputs, out var key, out var rows), key, rows, cancellationToken, due);
        // Watched before queuing, so that whatever the consumer does with it next finds it watched; a token that fires
        // in between ends the request at once, and it is then not queued.
        pending.Watch();
        RpcException? refused = null;
        lock (gate)
        {
            if (pending.State == PendingState.Done)
            {
                return pending.Answer.Task;
            }
            if (completing)
            {
                refused = MeshErrors.Unavailable(
                    $"{what} is being unloaded and takes no new requests; retry to reach the version that serves now.");
            }
            else if (queue.Count >= maxQueueSize)
            {
                refused = MeshErrors.ResourceExhausted(
                    $"The batching queue of model '{Model}' version {Version} is full ({maxQueueSize} requests waiting); retry later or raise MaxQueueSize.");
            }
            if (refused is not null)
            {
                pending.State = PendingState.Done;
            }
            else
            {
                pending.Node = queue.AddLast(pending);
                WakeConsumer();
            }
        }
        if (refused is not null)
        {
            pending.Unwatch();
            return Task.FromException<BatchResult>(refused);
        }
        return pending.Answer.Task;
    }

    /// <summary>
    /// From now on nothing waits for the queue delay (the version is retiring: few companions will come), but requests
    /// are still taken, so that one that found the version just before it retired is still served.
    /// </summary>
    public void Flush()
    {
        lock (gate)
        {
            flushing = true;
            WakeConsumer();
        }
    }

    /// <summary>Takes no more requests; what is queued runs at once, without waiting for the queue delay.</summary>
    public void Complete()
    {
        lock (gate)
        {
            completing = true;
            WakeConsumer();
        }
    }

    /// <summary>Completes and waits until every queued request has run.</summary>
    public async ValueTask DisposeAsync()
    {
        Complete();
        await consumer.ConfigureAwait(false);
        wakeup.Dispose();
        instances.Dispose();
    }

    // Inputs in name order, so that requests listing them differently still match; the key says which requests may share
    // a run (null: the request runs alone).
    private static BatchTensor[] Arrange(IReadOnlyList<BatchTensor> inputs, out string? key, out long rows)
    {
        var sorted = inputs.OrderBy(i => i.Name, StringComparer.Ordinal).ToArray();
        key = null;
        var first = sorted.Length > 0 ? sorted[0].Rows : 1;
        rows = first;
        if (sorted.Length == 0 || sorted.Any(i => !i.IsBatchable || i.Shape[0] != first))
        {
            return sorted;
        }
        var text = new StringBuilder();
        foreach (var input in sorted)
        {
            text.Append(input.Name).Append('\0').Append(input.Datatype).Append('\0').Append(input.ElementSize);
            for (var axis = 1; axis < input.Shape.Length; axis++)
            {
                text.Append(',').Append(input.Shape[axis]);
            }
            text.Append('\n');
        }
        key = text.ToString();
        return sorted;
    }

    private void WakeConsumer()
    {
        // Released only when the consumer sleeps, so that the semaphore's count stays at most one.
        if (consumerWaiting)
        {
            consumerWaiting = false;
            wakeup.Release();
        }
    }

    private async Task ConsumeAsync()
    {
        while (true)
        {
            // A free instance first: while every instance runs, requests gather into the next, larger batch.
            await instances.WaitAsync().ConfigureAwait(false);
            var members = new List<Pending>();
            TimeSpan wait;
            bool done;
            lock (gate)
            {
                wait = Form(members);
                done = members.Count == 0 && completing && queue.Count == 0;
                if (members.Count == 0 && !done)
                {
                    consumerWaiting = true;
                }
            }
            if (done)
            {
                instances.Release();
                // Every running batch ends before the batcher counts as drained.
                for (var i = 0; i < instanceCount; i++)
                {
                    await instances.WaitAsync().ConfigureAwait(false);
                }
                return;
            }
            if (members.Count == 0)
            {
                instances.Release();
                await wakeup.WaitAsync(wait).ConfigureAwait(false);
                lock (gate)
                {
                    consumerWaiting = false;
                }
                continue;
            }
            _ = Task.Run(() =>
            {
                try
                {
                    Execute(members);
                }
                finally
                {
                    instances.Release();
                }
            });
        }
    }

    // Under the lock: moves the next batch from the queue into members, or says how long to wait for one.
    private TimeSpan Form(List<Pending> members)
    {
        if (queue.First is not { } first)
        {
            return Timeout.InfiniteTimeSpan;
        }
        var head = first.Value;
        if (head.Key is null || head.Rows >= maxBatchSize)
        {
            members.Add(head);
            Start(members);
            return TimeSpan.Zero;
        }

        long rows = 0;
        var preferredCount = 0;
        var full = false;
        for (var node = first; node is not null; node = node.Next)
        {
            var pending = node.Value;
            if (!string.Equals(pending.Key, head.Key, StringComparison.Ordinal))
            {
                continue; // another row layout: waits for a later batch
            }
            if (rows + pending.Rows > maxBatchSize)
            {
                full = true;
                break;
            }
            members.Add(pending);
            rows += pending.Rows;
            if (preferred.Contains((int)rows))
            {
                preferredCount = members.Count;
            }
            if (rows == maxBatchSize)
            {
                full = true;
                break;
            }
        }

        var waited = Stopwatch.GetTimestamp() - head.Enqueued;
        if (!full && !completing && !flushing && waited < maxDelayTicks)
        {
            if (preferredCount == 0)
            {
                members.Clear();
                // Whole milliseconds, at least one: a shorter timed wait would spin.
                var left = Math.Ceiling((maxDelayTicks - waited) * 1000.0 / Stopwatch.Frequency);
                return TimeSpan.FromMilliseconds(Math.Max(1, left));
            }
            members.RemoveRange(preferredCount, members.Count - preferredCount);
        }
        Start(members);
        return TimeSpan.Zero;
    }

    // Under the lock: the members leave the queue and become one running batch.
    private void Start(List<Pending> members)
    {
        // One request: its own cancellation stops the run. Several: the run stops only when all of them gave up.
        var batch = new RunningBatch(members.Count, members.Count == 1 ? null : new CancellationTokenSource());
        foreach (var member in members)
        {
            queue.Remove(member.Node!);
            member.State = PendingState.Running;
            member.Batch = batch;
        }
    }

    private void Execute(List<Pending> members)
    {
        var start = Stopwatch.GetTimestamp();
        long rows = 0;
        long queueNs = 0;
        foreach (var member in members)
        {
            member.QueueNs = Nanoseconds(start - member.Enqueued);
            queueNs += member.QueueNs;
            rows += member.Rows;
        }

        using var batchCancel = members[0].Batch!.Cancel;
        var token = batchCancel?.Token ?? members[0].Token;

        IReadOnlyList<BatchTensor>[]? answers = null;
        Exception? error = null;
        long inputNs = 0, inferNs = 0, outputNs = 0;
        try
        {
            var single = members.Count == 1;
            var inputs = single
                ? new BatchInputs(members[0].Inputs, 1, rows)
                : new BatchInputs(BatchAssembler.Concatenate(members.Select(m => (IReadOnlyList<BatchTensor>)m.Inputs).ToList(), rows), members.Count, rows);
            var outputs = run(inputs, token);
            var ran = Stopwatch.GetTimestamp();
            answers = single
                ? [outputs.Tensors]
                : BatchAssembler.Split(what, outputs.Tensors, members.Select(m => m.Rows).ToList(), rows);
            var total = Nanoseconds(ran - start);
            inputNs = outputs.InputNs;
            outputNs = outputs.OutputNs + Nanoseconds(Stopwatch.GetTimestamp() - ran);
            inferNs = outputs.InferNs > 0 ? outputs.InferNs : Math.Max(0, total - outputs.InputNs - outputs.OutputNs);
        }
        catch (Exception ex)
        {
            error = ex;
            answers = null;
            inferNs = Nanoseconds(Stopwatch.GetTimestamp() - start);
        }

        lock (gate)
        {
            foreach (var member in members)
            {
                member.State = PendingState.Done;
            }
        }
        foreach (var member in members)
        {
            member.Unwatch();
        }

        try
        {
            onBatch?.Invoke(new BatchExecution(members.Count, rows, queueNs, inputNs, inferNs, outputNs, error));
        }
        catch (Exception)
        {
            // Statistics must never keep an answer from its caller.
        }

        for (var index = 0; index < members.Count; index++)
        {
            var member = members[index];
            if (answers is not null)
            {
                member.Answer.TrySetResult(new BatchResult(answers[index], rows, members.Count, member.QueueNs, inputNs, inferNs, outputNs));
            }
            else if (error is OperationCanceledException && token.IsCancellationRequested)
            {
                member.Abandon();
            }
            else
            {
                member.Answer.TrySetException(error!);
            }
        }
    }

    private RpcException DeadlineExceeded() => new(new Status(StatusCode.DeadlineExceeded,
        $"The deadline passed while the request waited in the batching queue of model '{Model}' version {Version}; it did not run."));

    private static long Nanoseconds(long ticks) => (long)(ticks * (1_000_000_000.0 / Stopwatch.Frequency));

    private enum PendingState
    {
        Queued,
        Running,
        Done,
    }

    private sealed class RunningBatch(int members, CancellationTokenSource? cancel)
    {
        public int Cancelled;

        public CancellationTokenSource? Cancel { get; } = cancel;

        public bool AllCancelled => Cancelled >= members;
    }

    private sealed class Pending(DynamicBatcher owner, BatchTensor[] inputs, string? key, long rows, CancellationToken caller, DateTime? deadline)
    {
        private CancellationTokenSource? deadlineSource;
        private CancellationTokenRegistration registration;

        public BatchTensor[] Inputs { get; } = inputs;

        public string? Key { get; } = key;

        public long Rows { get; } = rows;

        public long Enqueued { get; } = Stopwatch.GetTimestamp();

        public TaskCompletionSource<BatchResult> Answer { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public LinkedListNode<Pending>? Node { get; set; }

        public PendingState State { get; set; }

        public RunningBatch? Batch { get; set; }

        public long QueueNs { get; set; }

        /// <summary>The caller's token, or one that also fires at the deadline.</summary>
        public CancellationToken Token => deadlineSource?.Token ?? caller;

        public void Watch()
        {
            if (deadline is { } due)
            {
                deadlineSource = CancellationTokenSource.CreateLinkedTokenSource(caller);
                var left = due - DateTime.UtcNow;
                deadlineSource.CancelAfter(left > TimeSpan.Zero ? left : TimeSpan.Zero);
            }
            var token = Token;
            if (token.CanBeCanceled)
            {
                registration = token.UnsafeRegister(static state => ((Pending)state!).OnCancelled(), this);
            }
        }

        public void Unwatch()
        {
            // Unregister does not wait for a callback in flight, which may be blocked on the gate this thread held.
            registration.Unregister();
            deadlineSource?.Dispose();
        }

        /// <summary>Ends the request as its caller gave up: DeadlineExceeded when the deadline passed, else cancelled.</summary>
        public void Abandon()
        {
            // Not the caller: then the deadline timer fired (it may run a hair ahead of the wall clock). A gRPC server
            // cancels the call at its deadline too: past the deadline, that is the truer reason.
            if (deadline is { } due && (!caller.IsCancellationRequested || DateTime.UtcNow >= due))
            {
                Answer.TrySetException(owner.DeadlineExceeded());
            }
            else
            {
                Answer.TrySetCanceled(caller.IsCancellationRequested ? caller : Token);
            }
        }

        private void OnCancelled()
        {
            CancellationTokenSource? stop = null;
            var removed = false;
            lock (owner.gate)
            {
                if (State == PendingState.Running)
                {
                    var batch = Batch!;
                    batch.Cancelled++;
                    stop = batch.AllCancelled ? batch.Cancel : null;
                }
                else if (State == PendingState.Queued)
                {
                    // No node yet: SubmitAsync has not queued it and will not.
                    if (Node is not null)
                    {
                        owner.queue.Remove(Node);
                    }
                    State = PendingState.Done;
                    removed = true;
                }
                else
                {
                    return;
                }
            }
            if (removed)
            {
                Abandon();
                Unwatch();
                return;
            }
            try
            {
                stop?.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The run ended meanwhile.
            }
        }
    }
}
