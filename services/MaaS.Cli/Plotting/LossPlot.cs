using MaaS.Cli.Commands;
using MaaS.Cli.Framework;
using MaaS.Trainer.V1;
using ScottPlot;

namespace MaaS.Cli.Plotting;

/// <summary>A job's loss curves: training loss and, with a validation split, validation loss per epoch.</summary>
public static class LossPlot
{
    /// <summary>Draws the curves of <paramref name="job"/> from its progress history; returns the bytes written.</summary>
    public static long Write(GetJobResponse job, string path)
    {
        if (job.History.Count == 0)
        {
            throw new CliFailure("FailedPrecondition", $"job {job.Job.JobId} has no progress reports yet (state {JobStates.Name(job.Job.State)})", ExitCodes.Invalid);
        }
        var plot = new Plot();
        var epochs = job.History.Select(p => (double)p.Epoch).ToArray();
        var train = plot.Add.ScatterLine(epochs, job.History.Select(p => p.TrainLoss).ToArray());
        train.LegendText = "train loss";
        train.LineWidth = 2;
        var validation = job.History.Where(p => p.HasValidationLoss).ToList();
        if (validation.Count > 0)
        {
            var line = plot.Add.ScatterLine(validation.Select(p => (double)p.Epoch).ToArray(), validation.Select(p => p.ValidationLoss).ToArray());
            line.LegendText = "validation loss";
            line.LineWidth = 2;
        }
        var spec = job.Job.Spec;
        plot.Title($"job {job.Job.JobId} — {spec?.ModelName} ({spec?.Architecture}, {spec?.Loss}) — {JobStates.Name(job.Job.State)}");
        plot.XLabel("epoch");
        plot.YLabel("loss");
        plot.ShowLegend(Alignment.UpperRight);
        return Plots.Save([plot], path);
    }
}
