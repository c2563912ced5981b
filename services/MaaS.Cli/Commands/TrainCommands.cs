using System.CommandLine;
using System.Globalization;
using Google.Protobuf;
using MaaS.Cli.Framework;
using MaaS.Cli.Plotting;
using MaaS.Trainer.V1;

namespace MaaS.Cli.Commands;

/// <summary>`maas train` (from flags or a JSON spec, optionally watched live) and `maas jobs list|get|watch|cancel|plot`.</summary>
public static class TrainCommands
{
    private static readonly JsonParser SpecParser = new(JsonParser.Settings.Default);

    /// <summary>Builds `maas train`.</summary>
    public static Command BuildTrain(CommandKit kit)
    {
        var flags = new SpecFlags();
        var spec = new Option<FileInfo>("--spec") { Description = "JSON TrainingSpec (proto JSON names); flags override its fields", HelpName = "FILE" }.AcceptExistingOnly();
        var watch = new Option<bool>("--watch") { Description = "follow the job: live progress bar with epoch, losses and ETA" };
        var correlation = CommandKit.Text("--correlation-id", "correlation id (default: a new one)", "ID");
        return kit.Leaf("train", "submit a training job from flags or a JSON spec file; --watch follows it live",
            [spec, .. flags.All, correlation, watch], async context =>
            {
                var request = new SubmitJobRequest { Spec = BuildSpec(context.Parse.GetValue(spec), flags, context), CorrelationId = context.Value(correlation) ?? "" };
                var submitted = await context.Trainer.SubmitJobAsync(request, cancellationToken: context.Cancellation);
                if (!context.Value(watch))
                {
                    context.Emit(submitted, () => context.Say($"job {submitted.JobId} submitted (maas jobs watch {submitted.JobId})"));
                    return ExitCodes.Ok;
                }
                if (!context.Json) context.Say($"job {submitted.JobId} submitted");
                return await JobWatcher.WatchAsync(context, submitted.JobId);
            },
            // Submitting is quick; a watched job runs as long as it trains.
            timeoutSeconds: null,
            usageLine: "--model MODEL --dataset NAME --label COLUMN [--spec FILE] [--features A,B] [--architecture NAME] [--epochs N] " +
                       "[--learning-rate X] [--validation-split X] … [--watch]   (maas train --help lists every training flag)");
    }

    /// <summary>Builds `maas jobs …`.</summary>
    public static Command BuildJobs(CommandKit kit) => CommandKit.Group("jobs", "training jobs",
        List(kit), Get(kit), Watch(kit), Cancel(kit), Plot(kit));

    /// <summary>The spec: the file's (when given), then every flag given on top; model, dataset and label are required.</summary>
    internal static TrainingSpec BuildSpec(FileInfo? file, SpecFlags flags, CliContext context)
    {
        TrainingSpec spec;
        if (file is null)
        {
            spec = new TrainingSpec();
        }
        else
        {
            try
            {
                spec = SpecParser.Parse<TrainingSpec>(File.ReadAllText(file.FullName));
            }
            catch (InvalidProtocolBufferException ex)
            {
                throw new UsageException($"--spec {file.Name} is not a TrainingSpec in JSON: {ex.Message}");
            }
        }
        flags.Apply(spec, context);
        var missing = new List<string>();
        if (spec.ModelName.Length == 0) missing.Add("--model");
        if (spec.DatasetName.Length == 0) missing.Add("--dataset");
        if (spec.LabelColumn.Length == 0) missing.Add("--label");
        if (missing.Count > 0) throw new UsageException($"a training job needs {string.Join(", ", missing)} (as flags or in --spec)");
        return spec;
    }

    private static Command List(CommandKit kit)
    {
        var model = CommandKit.Text("--model", "only jobs of this model", "MODEL");
        var state = CommandKit.Text("--state", "only jobs in this state: queued, running, succeeded, failed, cancelled", "STATE");
        state.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string?>() is { } text && JobStates.Parse(text) is null)
            {
                result.AddError($"--state must be queued, running, succeeded, failed or cancelled, not '{text}'");
            }
        });
        var limit = CommandKit.Limit(50);
        return kit.Leaf("list", "list jobs, newest first", [model, state, limit], async context =>
        {
            var trainer = context.Trainer;
            var wanted = context.Value(state) is { } text ? JobStates.Parse(text)!.Value : JobState.Unspecified;
            var (jobs, next) = await Paging.AllAsync(async (token, size) =>
            {
                var page = await trainer.ListJobsAsync(new ListJobsRequest { ModelName = context.Value(model) ?? "", State = wanted, PageSize = size, PageToken = token },
                    cancellationToken: context.Cancellation);
                return (page.Jobs.AsEnumerable(), page.NextPageToken);
            }, context.Value(limit));
            context.Emit(new ListJobsResponse { Jobs = { jobs }, NextPageToken = next }, () =>
            {
                var table = Output.Table("JOB", "MODEL", "STATE", "EPOCHS", "VERSION", "CREATED", "MESSAGE");
                foreach (var j in jobs)
                {
                    table.Row(j.JobId, j.Spec?.ModelName ?? "-", JobStates.Name(j.State), $"{j.EpochsDone}/{j.Spec?.Epochs}",
                        j.RegisteredVersion == 0 ? "-" : $"v{j.RegisteredVersion}", Output.Time(j.CreatedAt), Output.OrDash(j.Message));
                }
                context.Console.Write(table);
            });
            return ExitCodes.Ok;
        });
    }

    private static Command Get(CommandKit kit)
    {
        var job = CommandKit.Name("JOB", "job id");
        return kit.Leaf("get", "show one job: state, spec, progress, metrics", [job], async context =>
        {
            var response = await context.Trainer.GetJobAsync(new GetJobRequest { JobId = context.Value(job) }, cancellationToken: context.Cancellation);
            var j = response.Job;
            context.Emit(response, () => context.Console.Write(Output.Fields(
                ("job", j.JobId), ("state", JobStates.Name(j.State)), ("progress", JobWatcher.Describe(j)), ("model", j.Spec?.ModelName ?? "-"),
                ("dataset", j.Spec is null ? "-" : $"{j.Spec.DatasetName} v{j.Spec.DatasetVersion}"),
                ("training", j.Spec is null ? "-" : $"{j.Spec.Architecture} · {j.Spec.Optimizer} · {j.Spec.Loss} · {j.Spec.Epochs} epochs · lr {Output.Number(j.Spec.LearningRate)}"),
                ("version", j.RegisteredVersion == 0 ? "-" : $"v{j.RegisteredVersion}"), ("metrics", Output.Map(j.Metrics, Output.Number)),
                ("message", Output.OrDash(j.Message)), ("replica", Output.OrDash(j.ReplicaId)), ("correlation", Output.OrDash(j.CorrelationId)),
                ("created", Output.Time(j.CreatedAt)), ("started", Output.Time(j.StartedAt)), ("finished", Output.Time(j.FinishedAt)),
                ("reports", Output.Number(response.History.Count)))));
            return ExitCodes.Ok;
        });
    }

    private static Command Watch(CommandKit kit)
    {
        var job = CommandKit.Name("JOB", "job id");
        return kit.Leaf("watch", "follow a job to its end with a live progress bar", [job],
            context => JobWatcher.WatchAsync(context, context.Value(job)), timeoutSeconds: null);
    }

    private static Command Cancel(CommandKit kit)
    {
        var job = CommandKit.Name("JOB", "job id");
        return kit.Leaf("cancel", "cancel a job: a queued one at once, a running one within one epoch", [job], async context =>
        {
            var response = await context.Trainer.CancelJobAsync(new CancelJobRequest { JobId = context.Value(job) }, cancellationToken: context.Cancellation);
            var j = response.Job;
            context.Emit(response, () => context.Say(j.State == JobState.Cancelled
                ? $"job {j.JobId} CANCELLED after {j.EpochsDone} epochs"
                : $"job {j.JobId} is {JobStates.Name(j.State)}; it stops at the end of its current epoch"));
            return ExitCodes.Ok;
        });
    }

    private static Command Plot(CommandKit kit)
    {
        var job = CommandKit.Name("JOB", "job id");
        var file = CommandKit.PlotFile();
        return kit.Leaf("plot", "PNG: a job's train and validation loss per epoch", [job, file], async context =>
        {
            var id = context.Value(job);
            var path = Plots.ValidateTarget(context.Value(file) ?? $"job-{id}-loss.png");
            var response = await context.Trainer.GetJobAsync(new GetJobRequest { JobId = id }, cancellationToken: context.Cancellation);
            var bytes = LossPlot.Write(response, path);
            Plots.Report(context, bytes, path, $"{response.History.Count} epochs of job {id} ({JobStates.Name(response.Job.State)})");
            return ExitCodes.Ok;
        });
    }

    /// <summary>The training flags; each one given overrides the spec file's field.</summary>
    internal sealed class SpecFlags
    {
        public Option<string?> Model { get; } = CommandKit.Text("--model", "model to register the result under (created when missing)", "MODEL");
        public Option<string?> Dataset { get; } = CommandKit.Text("--dataset", "dataset name in the registry", "NAME");
        public Option<long?> DatasetVersion { get; } = new("--dataset-version") { Description = "dataset version (default latest)", HelpName = "N" };
        public Option<string?> Features { get; } = CommandKit.Text("--features", "feature columns, comma-separated (default: all but the label)", "A,B");
        public Option<string?> Label { get; } = CommandKit.Text("--label", "label column", "COLUMN");
        public Option<string?> Architecture { get; } = CommandKit.Text("--architecture", "linear_regression, logistic_regression or mlp", "NAME");
        public Option<string?> Optimizer { get; } = CommandKit.Text("--optimizer", "sgd, gd, adam or adamw", "NAME");
        public Option<string?> Loss { get; } = CommandKit.Text("--loss", "mse, mae, huber, binary_cross_entropy, cross_entropy", "NAME");
        public Option<int?> Epochs { get; } = new("--epochs") { Description = "epochs, 1-100000", HelpName = "N" };
        public Option<double?> LearningRate { get; } = new("--learning-rate", "--lr") { Description = "learning rate, > 0 and <= 10", HelpName = "X" };
        public Option<long?> Seed { get; } = new("--seed") { Description = "random seed", HelpName = "N" };
        public Option<long?> WarmStart { get; } = new("--warm-start-version") { Description = "version to start from", HelpName = "N" };
        public Option<string?> Task { get; } = CommandKit.Text("--task", "regression, binary_classification or multiclass_classification", "TASK");
        public Option<string?> Hidden { get; } = CommandKit.Text("--hidden", "mlp hidden layer widths, comma-separated, e.g. 16,8", "N,N");
        public Option<string?> Activation { get; } = CommandKit.Text("--activation", "mlp activation: relu, tanh or sigmoid", "NAME");
        public Option<double?> Momentum { get; } = new("--momentum") { Description = "momentum of gd and sgd, 0 <= m < 1", HelpName = "X" };
        public Option<double?> WeightDecay { get; } = new("--weight-decay") { Description = "weight decay, 0-1", HelpName = "X" };
        public Option<int?> BatchSize { get; } = new("--batch-size") { Description = "rows per step (0 = full batch)", HelpName = "N" };
        public Option<double?> ValidationSplit { get; } = new("--validation-split") { Description = "fraction held out for validation, 0-0.5", HelpName = "X" };
        public Option<bool?> Standardize { get; } = new("--standardize") { Description = "standardise features inside the ONNX graph (true|false)", HelpName = "true|false" };
        public Option<string?> Schedule { get; } = CommandKit.Text("--lr-schedule", "constant, step or cosine", "NAME");
        public Option<int?> StepEpochs { get; } = new("--lr-step-epochs") { Description = "epochs between decays of the step schedule", HelpName = "N" };
        public Option<double?> Gamma { get; } = new("--lr-gamma") { Description = "decay factor of the step schedule", HelpName = "X" };
        public Option<int?> Patience { get; } = new("--early-stopping-patience") { Description = "stop after N epochs without improvement (0 = off)", HelpName = "N" };
        public Option<double?> MinDelta { get; } = new("--early-stopping-min-delta") { Description = "smallest improvement that counts", HelpName = "X" };
        public Option<double?> HuberDelta { get; } = new("--huber-delta") { Description = "delta of the huber loss", HelpName = "X" };
        public Option<string?> ClassNames { get; } = CommandKit.Text("--class-names", "class names, comma-separated, in label order", "A,B");
        public Option<string?> Device { get; } = CommandKit.Text("--device", "cpu (default) or cuda", "cpu|cuda");

        public IEnumerable<Option> All => [Model, Dataset, DatasetVersion, Features, Label, Architecture, Optimizer, Loss, Epochs, LearningRate, Seed,
            WarmStart, Task, Hidden, Activation, Momentum, WeightDecay, BatchSize, ValidationSplit, Standardize, Schedule, StepEpochs, Gamma, Patience,
            MinDelta, HuberDelta, ClassNames, Device];

        public void Apply(TrainingSpec spec, CliContext context)
        {
            if (context.Value(Model) is { } model) spec.ModelName = model;
            if (context.Value(Dataset) is { } dataset) spec.DatasetName = dataset;
            if (context.Value(DatasetVersion) is { } datasetVersion) spec.DatasetVersion = datasetVersion;
            if (context.Value(Features) is { } features) Replace(spec.FeatureColumns, Split(features));
            if (context.Value(Label) is { } label) spec.LabelColumn = label;
            if (context.Value(Architecture) is { } architecture) spec.Architecture = architecture;
            if (context.Value(Optimizer) is { } optimizer) spec.Optimizer = optimizer;
            if (context.Value(Loss) is { } loss) spec.Loss = loss;
            if (context.Value(Epochs) is { } epochs) spec.Epochs = epochs;
            if (context.Value(LearningRate) is { } rate) spec.LearningRate = rate;
            if (context.Value(Seed) is { } seed) spec.Seed = seed;
            if (context.Value(WarmStart) is { } warm) spec.WarmStartVersion = warm;
            if (context.Value(Task) is { } task) spec.Task = task;
            if (context.Value(Hidden) is { } hidden) Replace(spec.HiddenSizes, Split(hidden).Select(ParseWidth));
            if (context.Value(Activation) is { } activation) spec.Activation = activation;
            if (context.Value(Momentum) is { } momentum) spec.Momentum = momentum;
            if (context.Value(WeightDecay) is { } decay) spec.WeightDecay = decay;
            if (context.Value(BatchSize) is { } batch) spec.BatchSize = batch;
            if (context.Value(ValidationSplit) is { } split) spec.ValidationSplit = split;
            if (context.Value(Standardize) is { } standardize) spec.Standardize = standardize;
            if (context.Value(Schedule) is { } schedule) spec.LrSchedule = schedule;
            if (context.Value(StepEpochs) is { } stepEpochs) spec.LrStepEpochs = stepEpochs;
            if (context.Value(Gamma) is { } gamma) spec.LrGamma = gamma;
            if (context.Value(Patience) is { } patience) spec.EarlyStoppingPatience = patience;
            if (context.Value(MinDelta) is { } minDelta) spec.EarlyStoppingMinDelta = minDelta;
            if (context.Value(HuberDelta) is { } huber) spec.HuberDelta = huber;
            if (context.Value(ClassNames) is { } classes) Replace(spec.ClassNames, Split(classes));
            if (context.Value(Device) is { } device) spec.Device = device;
        }

        private static string[] Split(string text) => text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

        private static int ParseWidth(string text) =>
            int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var width) && width > 0
                ? width
                : throw new UsageException($"--hidden: '{text}' is not a layer width (a whole number >= 1)");

        private static void Replace<T>(Google.Protobuf.Collections.RepeatedField<T> field, IEnumerable<T> values)
        {
            field.Clear();
            field.AddRange(values);
        }
    }
}
