using MaaS.Onnx;
using MaaS.Onnx.Export;
using MaaS.Trainer.Onnx;
using MaaS.Trainer.Tests.Support;
using MaaS.Trainer.Training;

namespace MaaS.Trainer.Tests;

public sealed class DenseNetworkExporterTests
{
    // LinearOnnxExporter.Export(new LinearWeights([2f], 1f)) as the trainer wrote it before the dense
    // exporter existed: models already in registries must keep reading and hashing the same.
    private const string TrainerLinearModelHex =
        "0808120C6D6161732D747261696E65721A01313AB5010A3A0A05696E7075740A067765696768740A046269617312066F75747075741A066C696E656172" +
        "220447656D6D2A0D0A067472616E73421801A0010212116C696E6561725F72656772657373696F6E2A140A020101100122040000004042067765696768" +
        "742A110A0101100122040000803F4204626961735A1C0A05696E70757412130A110801120D0A07120562617463680A020801621D0A066F757470757412" +
        "130A110801120D0A07120562617463680A02080142021011";

    [Fact]
    public void Export_LinearModelThroughTrainer_IsByteForByteTheEarlierFormat()
    {
        var bytes = LinearOnnxExporter.Export(new LinearWeights([2f], 1f));

        Assert.Equal(TrainerLinearModelHex, Convert.ToHexString(bytes));
    }

    [Fact]
    public void Export_TwoLayerMlp_RunByOnnxRuntime_EqualsHandComputedForwardPass()
    {
        // 2 → 3 (relu) → 2: weights small enough to follow by hand.
        var hidden = new DenseLayer(2, 3, [1f, 2f, -1f, 0.5f, 0f, -3f], [0.5f, 0f, 1f], DenseActivation.Relu);
        var head = new DenseLayer(3, 2, [1f, -1f, 2f, 0f, 1f, 1f], [0.25f, -0.5f]);
        float[] x = [1f, 1f, 2f, -1f];

        using var session = Models.Sessions.Create(DenseNetworkExporter.Export([hidden, head]));
        var output = DenseModelRunner.Predict(session.Session, x, rows: 2, columns: 2);

        // Row 1: h = relu([1+2+0.5, -1+0.5+0, 0-3+1]) = [3.5, 0, 0]; y = [3.5 + 0.25, 0 - 0.5].
        // Row 2: h = relu([2-2+0.5, -2-0.5, 0+3+1]) = [0.5, 0, 4]; y = [0.5 + 8 + 0.25, 4 - 0.5].
        Assert.Equal([3.75f, -0.5f, 8.75f, 3.5f], output);
        Assert.Equal(Forward([hidden, head], x, rows: 2), output);
    }

    [Theory]
    [InlineData(DenseActivation.Tanh)]
    [InlineData(DenseActivation.Sigmoid)]
    [InlineData(DenseActivation.Relu)]
    public void Export_ActivationWithSoftmaxHead_MatchesReferenceWithinFloatRounding(DenseActivation activation)
    {
        DenseLayer[] layers = [DenseLayer.Random(4, 8, activation, seed: 1), DenseLayer.Random(8, 3, DenseActivation.None, seed: 2)];
        float[] x = [0.1f, -2f, 3f, 0.5f, 1f, 1f, -1f, 0f, 9f, -9f, 0.25f, 4f];

        using var session = Models.Sessions.Create(DenseNetworkExporter.Export(layers, softmax: true));
        var output = DenseModelRunner.Predict(session.Session, x, rows: 3, columns: 4);

        var expected = Softmax(Forward(layers, x, rows: 3), width: 3);
        Assert.Equal(expected.Length, output.Length);
        for (var i = 0; i < output.Length; i++) Assert.Equal(expected[i], output[i], 1e-5f);
        for (var r = 0; r < 3; r++) Assert.Equal(1f, output[(r * 3)..(r * 3 + 3)].Sum(), 1e-5f);
    }

    [Fact]
    public void Build_ThreeLayers_HasTheDocumentedLayout()
    {
        DenseLayer[] layers =
        [
            DenseLayer.Random(5, 4, DenseActivation.Relu, seed: 1),
            DenseLayer.Random(4, 4, DenseActivation.Tanh, seed: 2),
            DenseLayer.Random(4, 2, DenseActivation.Sigmoid, seed: 3),
        ];

        var model = DenseNetworkExporter.Build(layers);

        Assert.Equal(8, model.IrVersion);
        Assert.Equal("maas-trainer", model.ProducerName);
        Assert.Equal(17, Assert.Single(model.OpsetImport).Version);
        Assert.Equal(["Gemm", "Relu", "Gemm", "Tanh", "Gemm", "Sigmoid"], model.Graph.Node.Select(n => n.OpType));
        Assert.All(model.Graph.Node.Where(n => n.OpType == "Gemm"), n => Assert.Equal(1, Assert.Single(n.Attribute, a => a.Name == "transB").I));
        Assert.Equal("output", model.Graph.Node[^1].Output.Single());
        Assert.Equal([4L, 5L], model.Graph.Initializer.Single(i => i.Name == "layer0.weight").Dims);
        Assert.Equal([2L], model.Graph.Initializer.Single(i => i.Name == "layer2.bias").Dims);
        var input = Assert.Single(model.Graph.Input);
        Assert.Equal(("input", "batch", 5L), (input.Name, input.Type.TensorType.Shape.Dim[0].DimParam, input.Type.TensorType.Shape.Dim[1].DimValue));
        var output = Assert.Single(model.Graph.Output);
        Assert.Equal(("output", "batch", 2L), (output.Name, output.Type.TensorType.Shape.Dim[0].DimParam, output.Type.TensorType.Shape.Dim[1].DimValue));
    }

    [Fact]
    public void Export_MlpOfOverAMillionParameters_RunsWithOneOutputPerRow()
    {
        DenseLayer[] layers =
        [
            DenseLayer.Random(256, 1024, DenseActivation.Relu, seed: 1),
            DenseLayer.Random(1024, 1024, DenseActivation.Relu, seed: 2),
            DenseLayer.Random(1024, 1, DenseActivation.None, seed: 3),
        ];
        var x = new float[4 * 256];
        for (var i = 0; i < x.Length; i++) x[i] = (i % 17) / 17f;

        using var session = Models.Sessions.Create(DenseNetworkExporter.Export(layers));
        var output = DenseModelRunner.Predict(session.Session, x, rows: 4, columns: 256);

        Assert.Equal(1_313_793, DenseNetworkExporter.ParameterCount(layers));
        var expected = Forward(layers, x, rows: 4);
        Assert.Equal(4, output.Length);
        for (var i = 0; i < 4; i++) Assert.Equal(expected[i], output[i], 1e-3f);
    }

    [Fact]
    public void Export_LayersOfMismatchedWidths_ThrowsNamingTheLayers()
    {
        DenseLayer[] layers = [DenseLayer.Random(3, 4, DenseActivation.Relu, seed: 1), DenseLayer.Random(5, 1, DenseActivation.None, seed: 2)];

        var ex = Assert.Throws<ArgumentException>(() => DenseNetworkExporter.Export(layers));

        Assert.Contains("Layer 1 takes 5 inputs but layer 0 gives 4 outputs", ex.Message);
    }

    [Fact]
    public void Export_WeightOfWrongLength_ThrowsWithBothCounts()
    {
        var ex = Assert.Throws<ArgumentException>(() => DenseNetworkExporter.Export([new DenseLayer(2, 2, [1f, 2f, 3f], [0f, 0f])]));

        Assert.Contains("holds 3 values", ex.Message);
        Assert.Contains("needs 4", ex.Message);
    }

    [Fact]
    public void Export_NoLayers_Throws()
    {
        var ex = Assert.Throws<ArgumentException>(() => DenseNetworkExporter.Export([]));

        Assert.Contains("at least one layer", ex.Message);
    }

    // Plain double-precision forward pass: the reference ONNX Runtime is held to.
    private static float[] Forward(IReadOnlyList<DenseLayer> layers, float[] x, int rows)
    {
        var current = x;
        foreach (var l in layers)
        {
            var next = new float[rows * l.Outputs];
            for (var r = 0; r < rows; r++)
            {
                for (var o = 0; o < l.Outputs; o++)
                {
                    double sum = l.Bias[o];
                    for (var i = 0; i < l.Inputs; i++) sum += (double)current[r * l.Inputs + i] * l.Weight[o * l.Inputs + i];
                    next[r * l.Outputs + o] = (float)(l.Activation switch
                    {
                        DenseActivation.Relu => Math.Max(0, sum),
                        DenseActivation.Tanh => Math.Tanh(sum),
                        DenseActivation.Sigmoid => 1 / (1 + Math.Exp(-sum)),
                        _ => sum,
                    });
                }
            }
            current = next;
        }
        return current;
    }

    private static float[] Softmax(float[] values, int width)
    {
        var result = new float[values.Length];
        for (var r = 0; r < values.Length / width; r++)
        {
            var row = values.AsSpan(r * width, width);
            var max = row.ToArray().Max();
            var sum = 0.0;
            for (var i = 0; i < width; i++) sum += Math.Exp(row[i] - max);
            for (var i = 0; i < width; i++) result[r * width + i] = (float)(Math.Exp(row[i] - max) / sum);
        }
        return result;
    }
}
