using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.ML.OnnxRuntime;

namespace MaaS.Onnx;

/// <summary>A session and the execution provider it really runs on.</summary>
public sealed record OnnxSession(InferenceSession Session, string Provider) : IDisposable
{
    /// <inheritdoc />
    public void Dispose() => Session.Dispose();
}

/// <summary>
/// Builds ONNX Runtime sessions with explicit thread counts, on CUDA where a GPU and its libraries
/// are present and on CPU otherwise, saying which in the log.
/// </summary>
public sealed partial class OnnxSessionFactory(IOptions<OnnxRuntimeOptions> options, ILogger<OnnxSessionFactory> logger)
{
    // The GPU package lists CUDA even where libcublas is missing and throws only when the provider is
    // appended; remember the first answer so every later session skips the failing attempt.
    private static bool? cudaUsable;

    /// <summary>Creates a session for the model bytes.</summary>
    public OnnxSession Create(byte[] model)
    {
        var o = options.Value;
        if (o.PreferCuda && cudaUsable != false)
        {
            var so = NewOptions(o);
            try
            {
                so.AppendExecutionProvider_CUDA(0);
                var session = new InferenceSession(model, so);
                if (cudaUsable != true)
                {
                    cudaUsable = true;
                    LogProvider(logger, "CUDAExecutionProvider", "a GPU and CUDA libraries were found");
                }
                return new OnnxSession(session, "CUDAExecutionProvider");
            }
            catch (OnnxRuntimeException ex)
            {
                cudaUsable = false;
                LogProvider(logger, "CPUExecutionProvider", $"CUDA is not usable here ({FirstLine(ex.Message)})");
            }
            finally
            {
                so.Dispose();
            }
        }
        using var cpu = NewOptions(o);
        return new OnnxSession(new InferenceSession(model, cpu), "CPUExecutionProvider");
    }

    private static SessionOptions NewOptions(OnnxRuntimeOptions o) => new()
    {
        IntraOpNumThreads = o.IntraOpThreads,
        InterOpNumThreads = o.InterOpThreads,
        ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
    };

    private static string FirstLine(string s) => s.Split('\n', 2)[0].Trim();

    [LoggerMessage(Level = LogLevel.Information, Message = "ONNX Runtime runs on {Provider}: {Why}")]
    private static partial void LogProvider(ILogger logger, string provider, string why);
}
