using MaaS.Onnx;
using MaaS.Trainer.Onnx;
using MaaS.Trainer.Training;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace MaaS.Trainer.Tests.Support;

/// <summary>The real training core and ONNX Runtime, built without a host.</summary>
public static class Models
{
    /// <summary>ONNX Runtime on the CPU, as the trainer checks exports.</summary>
    public static OnnxSessionFactory Sessions { get; } =
        new(Options.Create(new OnnxRuntimeOptions { PreferCuda = false }), NullLogger<OnnxSessionFactory>.Instance);

    /// <summary>A trainer with a real export check.</summary>
    public static LinearRegressionTrainer Trainer() => new(new ExportVerifier(Sessions));
}
