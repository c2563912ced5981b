using System.Globalization;
using Grpc.Core;
using MaaS.Contracts;
using MaaS.Registry.V1;
using MaaS.ServiceDefaults;
using MaaS.Updater.Policies;
using MaaS.Updater.Storage;
using MaaS.Updater.V1;
using Microsoft.Extensions.Options;

namespace MaaS.Updater.Rollout;

/// <summary>
/// Progressive rollouts driven through the registry's deployments (the gateway splits traffic by them):
/// an optional shadow phase, then canary steps each held for the bake time, judged continuously on the
/// gateways' traffic windows; success moves production, failure returns all traffic to the champion at once.
/// The state lives in SQLite (<see cref="RolloutStore"/>) and every change is first stored, with its events
/// and timeline entry, then pushed to the registry; a push that fails is retried by the driver, so a
/// restart or a registry outage resumes where it stopped. One lock serialises the changes of this process.
/// </summary>
public sealed partial class RolloutManager(
    RolloutStore store, IRolloutRegistry registry, IOptions<RolloutOptions> options, TimeProvider clock, ILogger<RolloutManager> logger)
    : IRolloutManager
{
    /// <summary>Pool used when the champion's current deployment names none.</summary>
    public const string DefaultPool = "default";

    private readonly SemaphoreSlim gate = new(1, 1);

    // The last failure logged per rollout: a registry that stays down is logged once, not every tick.
    private readonly Dictionary<string, string> lastFailure = new(StringComparer.Ordinal);

    private DateTimeOffset lastPrune = DateTimeOffset.MinValue;

    /// <summary>
    /// The rules of a rollout plan: canary_steps strictly increasing in [1, 100] ending at 100 (at least one),
    /// bake_seconds >= 1 with auto_advance, shadow_seconds > 0 with shadow_percent > 0, max_error_rate_increase
    /// in [0, 1], max_p99_ratio 0 or >= 1, min_requests >= 0. InvalidArgument naming the field otherwise.
    /// </summary>
    public static void Validate(RolloutPlan? plan, string field = "plan")
    {
        if (plan is null) throw MeshErrors.InvalidArgument($"{field} is required: give canary_steps (e.g. 10, 50, 100) and a bake time.");
        if (plan.CanarySteps.Count == 0)
        {
            throw MeshErrors.InvalidArgument($"{field}.canary_steps must hold at least one step, strictly increasing percentages in [1, 100] ending at 100.");
        }
        PolicyValidator.ValidatePlan(plan, field);
    }

    /// <inheritdoc />
    public async Task<V1.Rollout> StartAsync(string model, long championVersion, long challengerVersion, RolloutPlan plan,
        string reason, string correlationId, CancellationToken ct)
    {
        if (!MeshNames.IsValid(model)) throw MeshErrors.InvalidArgument($"model_name must be {MeshNames.Rule}; got '{model}'.");
        Validate(plan);
        if (championVersion < 1) throw MeshErrors.FailedPrecondition($"Model '{model}' has no production version to roll out against.");
        if (challengerVersion < 1) throw MeshErrors.InvalidArgument($"version must be >= 1; got {challengerVersion}.");
        if (challengerVersion == championVersion)
        {
            throw MeshErrors.InvalidArgument($"version {challengerVersion} is already the champion (production) of '{model}'; roll out a different version.");
        }
        if (store.Current(model) is { Running: true } running)
        {
            throw MeshErrors.FailedPrecondition(
                $"Model '{model}' already has rollout {running.Id} running ({running.State}); one rollout per model at a time (AbortRollout stops it).");
        }
        var challenger = await registry.GetVersionAsync(model, challengerVersion, ct);
        if (challenger.Status != VersionStatus.Ready)
        {
            throw MeshErrors.FailedPrecondition($"Version {challengerVersion} of '{model}' is {challenger.Status}; only a ready version can take traffic.");
        }
        var deployment = await registry.GetDeploymentAsync(model, ct);
        var pool = deployment?.Entries.FirstOrDefault(e => e.Version == championVersion)?.Pool is { Length: > 0 } p ? p : DefaultPool;

        var now = clock.GetUtcNow();
        var shadow = plan.ShadowPercent > 0;
        var why = reason.Trim().Length > 0 ? reason.Trim() : "requested";
        var rollout = new RolloutRecord(Guid.NewGuid().ToString("N"), model, championVersion, challengerVersion, plan.Clone(),
            shadow ? RolloutStates.Shadow : RolloutStates.Canary, shadow ? -1 : 0, shadow ? 0 : plan.CanarySteps[0], now,
            $"started: {why}", now, null, correlationId.Length > 0 ? correlationId : Guid.NewGuid().ToString("N"), pool, Applied: false);
        var details = StepDetails(rollout);
        details["reason"] = why;

        await gate.WaitAsync(ct);
        try
        {
            store.Insert(rollout, [StepChanged(rollout, rollout.Reason, now)],
                new RolloutNote(TimelineKinds.RolloutStep, $"Rollout {rollout.Id} started: {Describe(rollout)} ({why})", details));
            LogStarted(logger, model, challengerVersion, championVersion, rollout.Id, Describe(rollout));
            await TryApplyAsync(rollout, CancellationToken.None);
            return store.Get(rollout.Id)!.ToProto();
        }
        finally
        {
            gate.Release();
        }
    }

    /// <inheritdoc />
    public V1.Rollout? Current(string model) => store.Current(model)?.ToProto();

    /// <inheritdoc />
    public async Task<V1.Rollout> AdvanceAsync(string model, CancellationToken ct)
    {
        await gate.WaitAsync(ct);
        try
        {
            var rollout = RequireCurrent(model);
            if (!rollout.Running)
            {
                throw MeshErrors.FailedPrecondition($"Rollout {rollout.Id} of '{model}' is {rollout.State}; only a running rollout advances.");
            }
            if (rollout.Plan.AutoAdvance)
            {
                throw MeshErrors.FailedPrecondition($"Rollout {rollout.Id} of '{model}' advances by itself (auto_advance); AdvanceRollout is for plans without it.");
            }
            if (!rollout.Applied && !await TryApplyAsync(rollout, ct))
            {
                throw MeshErrors.Unavailable($"The registry did not take the deployment of rollout {rollout.Id}'s current step; retry later.");
            }
            rollout = store.Get(rollout.Id)!;
            var verdict = Judge(rollout);
            if (verdict.Kind == VerdictKind.Failed)
            {
                return (await RollBackAsync(rollout, RolloutStates.RolledBack, verdict.Reason, verdict.Details, ct)).ToProto();
            }
            var left = Hold(rollout) - (clock.GetUtcNow() - rollout.StepStartedAt);
            if (left > TimeSpan.Zero)
            {
                throw MeshErrors.FailedPrecondition(
                    $"{Describe(rollout)} of rollout {rollout.Id} is held for {Hold(rollout).TotalSeconds:0} s; {left.TotalSeconds:0.#} s are left.");
            }
            if (rollout.State == RolloutStates.Canary && verdict.Kind == VerdictKind.Waiting)
            {
                throw MeshErrors.FailedPrecondition($"{Describe(rollout)} of rollout {rollout.Id} cannot complete yet: {verdict.Reason}.");
            }
            return (await AdvanceCoreAsync(rollout, verdict, "advanced on request", ct)).ToProto();
        }
        finally
        {
            gate.Release();
        }
    }

    /// <inheritdoc />
    public async Task<V1.Rollout> AbortAsync(string model, string reason, CancellationToken ct)
    {
        await gate.WaitAsync(ct);
        try
        {
            var rollout = RequireCurrent(model);
            if (!rollout.Running)
            {
                throw MeshErrors.FailedPrecondition($"Rollout {rollout.Id} of '{model}' is already {rollout.State}; only a running rollout can be aborted.");
            }
            var why = reason.Trim().Length > 0 ? reason.Trim() : "requested";
            var verdict = Judge(rollout);
            return (await RollBackAsync(rollout, RolloutStates.Aborted, $"aborted: {why}", verdict.Details, ct)).ToProto();
        }
        finally
        {
            gate.Release();
        }
    }

    /// <inheritdoc />
    public async Task<V1.Rollout> RollbackAsync(string model, string reason, CancellationToken ct)
    {
        await gate.WaitAsync(ct);
        try
        {
            var rollout = RequireCurrent(model);
            if (rollout.Running)
            {
                throw MeshErrors.FailedPrecondition($"Rollout {rollout.Id} of '{model}' is still running ({rollout.State}); AbortRollout stops it.");
            }
            if (rollout.State != RolloutStates.Completed)
            {
                throw MeshErrors.FailedPrecondition($"Rollout {rollout.Id} of '{model}' is {rollout.State}; only a completed rollout can be rolled back.");
            }
            var production = await registry.GetProductionAsync(model, ct);
            if (production != rollout.ChallengerVersion)
            {
                throw MeshErrors.FailedPrecondition(
                    $"Production of '{model}' is now version {production}, not version {rollout.ChallengerVersion} that rollout {rollout.Id} brought; it is not rolled back.");
            }
            var why = reason.Trim().Length > 0 ? reason.Trim() : "requested";
            var details = new Dictionary<string, string> { ["previous_production"] = Show(rollout.ChallengerVersion) };
            return (await RollBackAsync(rollout, RolloutStates.RolledBack, $"completed rollout rolled back: {why}", details, ct)).ToProto();
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Counts a traffic window toward the running rollout it concerns (if any); false when it concerns none or was counted before.</summary>
    public bool Observe(TrafficObserved observed) => store.AddTraffic(observed, clock.GetUtcNow());

    /// <summary>
    /// One pass of the driver: every running rollout is judged (a failing challenger is rolled back at once),
    /// a step whose time is up advances (auto_advance) or waits, and a deployment the registry has not taken yet is pushed again.
    /// </summary>
    public async Task TickAsync(CancellationToken ct)
    {
        foreach (var id in store.Unsettled())
        {
            await gate.WaitAsync(ct);
            try
            {
                if (store.Get(id) is { } rollout) await DriveAsync(rollout, ct);
                lastFailure.Remove(id);
            }
            catch (Exception ex) when (!ct.IsCancellationRequested)
            {
                Report(id, ex);
            }
            finally
            {
                gate.Release();
            }
        }
        var now = clock.GetUtcNow();
        if (now - lastPrune > TimeSpan.FromMinutes(1))
        {
            lastPrune = now;
            store.PruneSeen(now - TimeSpan.FromMinutes(options.Value.SeenEventRetentionMinutes));
        }
    }

    private async Task DriveAsync(RolloutRecord rollout, CancellationToken ct)
    {
        if (!rollout.Applied)
        {
            if (!rollout.Running && store.Current(rollout.Model)?.Id != rollout.Id)
            {
                // A newer rollout of the model owns its deployment now: an old one's pending push would undo it.
                store.MarkApplied(rollout, clock.GetUtcNow());
                return;
            }
            using (StepTrace(rollout))
            {
                await ApplyAsync(rollout, ct);
            }
            rollout = store.Get(rollout.Id)!;
        }
        if (!rollout.Running) return;

        var verdict = Judge(rollout);
        if (verdict.Kind == VerdictKind.Failed)
        {
            using var trace = StepTrace(rollout);
            await RollBackAsync(rollout, RolloutStates.RolledBack, verdict.Reason, verdict.Details, ct);
            return;
        }
        var elapsed = clock.GetUtcNow() - rollout.StepStartedAt;
        if (elapsed < Hold(rollout)) return;
        if (rollout.State == RolloutStates.Canary && verdict.Kind == VerdictKind.Waiting)
        {
            var bake = rollout.Plan.BakeSeconds;
            var limit = TimeSpan.FromSeconds((double)bake * options.Value.MinRequestsTimeoutBakes);
            if (bake >= 1 && elapsed >= limit)
            {
                using var trace = StepTrace(rollout);
                await RollBackAsync(rollout, RolloutStates.RolledBack,
                    $"{verdict.Reason} after {limit.TotalSeconds:0} s ({options.Value.MinRequestsTimeoutBakes} × bake_seconds)", verdict.Details, ct);
            }
            return;
        }
        if (rollout.Plan.AutoAdvance)
        {
            using var trace = StepTrace(rollout);
            await AdvanceCoreAsync(rollout, verdict, $"held {Hold(rollout).TotalSeconds:0} s", ct);
        }
    }

    /// <summary>
    /// The timer runs outside any call: a step change (its logs, registry calls and events) joins the trace of the
    /// update that started the rollout, found by its correlation id. Only changes get a span, not every tick.
    /// </summary>
    private static System.Diagnostics.Activity? StepTrace(RolloutRecord rollout) =>
        MaaS.ServiceDefaults.Telemetry.CorrelationTraces.StartActivity("rollout step", rollout.CorrelationId);

    private async Task<RolloutRecord> AdvanceCoreAsync(RolloutRecord rollout, Verdict verdict, string how, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var steps = rollout.Plan.CanarySteps;
        var last = rollout.State == RolloutStates.Canary && rollout.Step >= steps.Count - 1;
        RolloutRecord next;
        if (last)
        {
            next = rollout with
            {
                State = RolloutStates.Completed, ChallengerPercent = 100, StepStartedAt = now, EndedAt = now,
                Reason = $"completed: {Describe(rollout)} {how}; {verdict.Reason}",
            };
        }
        else
        {
            var step = rollout.State == RolloutStates.Shadow ? 0 : rollout.Step + 1;
            next = rollout with
            {
                State = RolloutStates.Canary, Step = step, ChallengerPercent = steps[step], StepStartedAt = now,
                Reason = $"{Describe(rollout)} {how}; {verdict.Reason}",
            };
        }
        var details = StepDetails(next);
        foreach (var (key, value) in verdict.Details) details[key] = value;
        details["previous_step"] = Show(rollout.Step);
        details["previous_challenger_percent"] = Show(rollout.ChallengerPercent);

        List<MeshMessage> events = [StepChanged(next, next.Reason, now)];
        RolloutNote note;
        if (last)
        {
            events.Add(new RolloutCompleted
            {
                CorrelationId = next.CorrelationId, OccurredAt = now, RolloutId = next.Id, ModelName = next.Model,
                PreviousVersion = next.ChampionVersion, Version = next.ChallengerVersion,
            });
            note = new RolloutNote(TimelineKinds.RolloutCompleted,
                $"Rollout {next.Id} completed: version {next.ChallengerVersion} takes production and 100 % of traffic from version {next.ChampionVersion} ({verdict.Reason})",
                details);
        }
        else
        {
            note = new RolloutNote(TimelineKinds.RolloutStep, $"Rollout {next.Id}: {Describe(next)} after {Describe(rollout)} ({verdict.Reason})", details);
        }
        if (!store.Transition(rollout, next, events, note)) return store.Get(rollout.Id)!;
        LogStep(logger, next.Model, next.Id, Describe(next), next.Reason);
        await TryApplyAsync(next, ct);
        return store.Get(next.Id)!;
    }

    private async Task<RolloutRecord> RollBackAsync(RolloutRecord rollout, string state, string reason, IReadOnlyDictionary<string, string> numbers, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var next = rollout with { State = state, StepStartedAt = now, EndedAt = rollout.EndedAt ?? now, ChallengerPercent = 0, Reason = reason };
        var details = new Dictionary<string, string>(numbers)
        {
            ["rollout_id"] = rollout.Id,
            ["state"] = state,
            ["from_state"] = rollout.State,
            ["step"] = Show(rollout.Step),
            ["challenger_percent"] = Show(rollout.ChallengerPercent),
            ["champion_version"] = Show(rollout.ChampionVersion),
            ["challenger_version"] = Show(rollout.ChallengerVersion),
            ["reason"] = reason,
        };
        MeshMessage[] events =
        [
            StepChanged(next, reason, now),
            new RolledBack
            {
                CorrelationId = next.CorrelationId, OccurredAt = now, RolloutId = next.Id, ModelName = next.Model,
                ChampionVersion = next.ChampionVersion, ChallengerVersion = next.ChallengerVersion, Reason = reason, Details = details,
            },
        ];
        var what = state == RolloutStates.Aborted ? "aborted" : "rolled back";
        var note = new RolloutNote(TimelineKinds.RolledBack,
            $"Rollout {next.Id} {what} at {Describe(rollout)}: version {next.ChampionVersion} takes all traffic again from version {next.ChallengerVersion}; {reason}",
            details);
        if (!store.Transition(rollout, next, events, note)) return store.Get(rollout.Id)!;
        LogRolledBack(logger, next.Model, next.Id, what, reason);
        await TryApplyAsync(next, ct);
        return store.Get(next.Id)!;
    }

    private Verdict Judge(RolloutRecord rollout) => RolloutChecks.Judge(rollout.Plan, rollout.State == RolloutStates.Shadow,
        store.StepTally(rollout.Id, rollout.Step, rollout.ChampionVersion), store.RolloutTally(rollout.Id, rollout.ChampionVersion),
        store.StepTally(rollout.Id, rollout.Step, rollout.ChallengerVersion));

    private async Task<bool> TryApplyAsync(RolloutRecord rollout, CancellationToken ct)
    {
        try
        {
            await ApplyAsync(rollout, ct);
            lastFailure.Remove(rollout.Id);
            return true;
        }
        catch (RpcException ex)
        {
            // Stored already: the driver pushes it again next tick.
            Report(rollout.Id, ex);
            return false;
        }
    }

    /// <summary>Pushes the deployment (and production alias) of the rollout's state to the registry, then records that it did.</summary>
    private async Task ApplyAsync(RolloutRecord rollout, CancellationToken ct)
    {
        var model = rollout.Model;
        var champion = rollout.ChampionVersion;
        var challenger = rollout.ChallengerVersion;
        var why = $"rollout {rollout.Id}: {Describe(rollout)}";
        switch (rollout.State)
        {
            case RolloutStates.Shadow:
                await registry.SetDeploymentAsync(model, [Entry(champion, rollout.Pool, 100)],
                    new ShadowTarget { Version = challenger, Percent = rollout.Plan.ShadowPercent }, why, ct);
                break;
            case RolloutStates.Canary:
                await registry.SetDeploymentAsync(model, rollout.ChallengerPercent >= 100
                    ? [Entry(challenger, rollout.Pool, 100)]
                    : [Entry(champion, rollout.Pool, 100 - rollout.ChallengerPercent), Entry(challenger, rollout.Pool, rollout.ChallengerPercent)], null, why, ct);
                break;
            case RolloutStates.Completed:
                if (await registry.GetProductionAsync(model, ct) != challenger)
                {
                    await registry.SetProductionAsync(model, challenger, $"rollout {rollout.Id} completed", ct);
                }
                await registry.SetDeploymentAsync(model, [Entry(challenger, rollout.Pool, 100)], null, why, ct);
                break;
            default:
                // Traffic first (it is what callers feel), then production when it had moved to the challenger.
                await registry.SetDeploymentAsync(model, [Entry(champion, rollout.Pool, 100)], null, why, ct);
                if (await registry.GetProductionAsync(model, ct) == challenger)
                {
                    await registry.SetProductionAsync(model, champion, $"rollout {rollout.Id} {rollout.State}: {rollout.Reason}", ct);
                }
                break;
        }
        store.MarkApplied(rollout, clock.GetUtcNow());
    }

    private RolloutRecord RequireCurrent(string model)
    {
        if (!MeshNames.IsValid(model)) throw MeshErrors.InvalidArgument($"model_name must be {MeshNames.Rule}; got '{model}'.");
        return store.Current(model) ?? throw MeshErrors.NotFound($"Model '{model}' has had no rollout.");
    }

    private static TimeSpan Hold(RolloutRecord rollout) =>
        TimeSpan.FromSeconds(rollout.State == RolloutStates.Shadow ? rollout.Plan.ShadowSeconds : rollout.Plan.BakeSeconds);

    private static DeploymentEntry Entry(long version, string pool, int weight) => new() { Version = version, Pool = pool, Weight = weight };

    private static RolloutStepChanged StepChanged(RolloutRecord rollout, string reason, DateTimeOffset now) => new()
    {
        CorrelationId = rollout.CorrelationId,
        OccurredAt = now,
        RolloutId = rollout.Id,
        ModelName = rollout.Model,
        ChampionVersion = rollout.ChampionVersion,
        ChallengerVersion = rollout.ChallengerVersion,
        State = rollout.State,
        Step = rollout.Step,
        ChallengerPercent = rollout.ChallengerPercent,
        Reason = reason,
    };

    private static Dictionary<string, string> StepDetails(RolloutRecord rollout) => new()
    {
        ["rollout_id"] = rollout.Id,
        ["state"] = rollout.State,
        ["step"] = Show(rollout.Step),
        ["challenger_percent"] = Show(rollout.ChallengerPercent),
        ["champion_version"] = Show(rollout.ChampionVersion),
        ["challenger_version"] = Show(rollout.ChallengerVersion),
        ["pool"] = rollout.Pool,
        ["canary_steps"] = string.Join(",", rollout.Plan.CanarySteps),
        ["bake_seconds"] = Show(rollout.Plan.BakeSeconds),
        ["shadow_percent"] = Show(rollout.Plan.ShadowPercent),
    };

    /// <summary>The rollout's position in words, e.g. "canary step 2 of 3 (50 %)".</summary>
    private static string Describe(RolloutRecord rollout) => rollout.State switch
    {
        RolloutStates.Shadow => $"the shadow phase ({rollout.Plan.ShadowPercent} % of calls copied to version {rollout.ChallengerVersion})",
        RolloutStates.Canary => $"canary step {rollout.Step + 1} of {rollout.Plan.CanarySteps.Count} ({rollout.ChallengerPercent} % to version {rollout.ChallengerVersion})",
        _ => rollout.State,
    };

    private static string Show(long value) => value.ToString(CultureInfo.InvariantCulture);

    private void Report(string id, Exception ex)
    {
        if (lastFailure.TryGetValue(id, out var last) && last == ex.Message) return;
        lastFailure[id] = ex.Message;
        LogFailed(logger, id, ex.Message);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Rollout {RolloutId} of {Model}: version {Challenger} against {Champion}, starting at {Position}")]
    private static partial void LogStarted(ILogger logger, string model, long challenger, long champion, string rolloutId, string position);

    [LoggerMessage(Level = LogLevel.Information, Message = "Rollout {RolloutId} of {Model} now at {Position}: {Reason}")]
    private static partial void LogStep(ILogger logger, string model, string rolloutId, string position, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rollout {RolloutId} of {Model} {Outcome}: {Reason}")]
    private static partial void LogRolledBack(ILogger logger, string model, string rolloutId, string outcome, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rollout {RolloutId}: {Reason}; retried next tick")]
    private static partial void LogFailed(ILogger logger, string rolloutId, string reason);
}
