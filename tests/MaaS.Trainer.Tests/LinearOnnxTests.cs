using Google.Protobuf;
using MaaS.Trainer.Onnx;
using MaaS.Trainer.Tests.Support;
using MaaS.Trainer.Training;

namespace MaaS.Trainer.Tests;

public sealed class LinearOnnxTests
{
    [Fact]
    public void Read_OfExport_ReturnsTheSameWeightsExactly()
    {
        var weights = new LinearWeights([1.5f, -0.000123f, 3.0e7f, float.Epsilon], 0.1f);

        var read = LinearOnnxReader.Read(LinearOnnxExporter.Export(weights));

        Assert.Equal(weights.Weight, read.Weight);
        Assert.Equal(weights.Bias, read.Bias);
    }

    [Fact]
    public void Export_Graph_HasTheDocumentedLayout()
    {
        var model = global::Onnx.ModelProto.Parser.ParseFrom(LinearOnnxExporter.Export(new LinearWeights([2f, 3f], 1f)));

        Assert.Equal(8, model.IrVersion);
        Assert.Equal("maas-trainer", model.ProducerName);
        Assert.Equal(17, Assert.Single(model.OpsetImport).Version);
        var node = Assert.Single(model.Graph.Node);
        Assert.Equal("Gemm", node.OpType);
        Assert.Equal(1, Assert.Single(node.Attribute, a => a.Name == "transB").I);
        var input = Assert.Single(model.Graph.Input);
        Assert.Equal("input", input.Name);
        Assert.Equal("batch", input.Type.TensorType.Shape.Dim[0].DimParam);
        Assert.Equal(2, input.Type.TensorType.Shape.Dim[1].DimValue);
        Assert.Equal("output", Assert.Single(model.Graph.Output).Name);
        Assert.Equal([1L, 2L], model.Graph.Initializer.Single(i => i.Name == "weight").Dims);
        Assert.Equal([1L], model.Graph.Initializer.Single(i => i.Name == "bias").Dims);
    }

    [Fact]
    public void Export_RunByOnnxRuntime_ComputesXTimesWPlusB()
    {
        using var session = Models.Sessions.Create(LinearOnnxExporter.Export(new LinearWeights([2f, -1f], 0.5f)));

        var output = MaaS.Onnx.DenseModelRunner.Predict(session.Session, [1f, 1f, 3f, 2f, 0f, 0f], rows: 3, columns: 2);

        Assert.Equal([1.5f, 4.5f, 0.5f], output);
    }

    [Fact]
    public void Read_ModelWithOtherWeightShape_RefusesWithReason()
    {
        var model = global::Onnx.ModelProto.Parser.ParseFrom(LinearOnnxExporter.Export(new LinearWeights([2f, 3f], 1f)));
        var weight = model.Graph.Initializer.Single(i => i.Name == "weight");
        weight.Dims.Clear();
        weight.Dims.Add([2, 1]);

        var ex = Assert.Throws<InvalidDataException>(() => LinearOnnxReader.Read(model.ToByteArray()));

        // Read as a layer of 2 outputs from 1 input, whose bias then does not fit: the sentence names the tensor and both shapes.
        Assert.Contains("its bias 'bias' has shape [1]; expected [2]", ex.Message);
    }

    [Fact]
    public void Read_ModelWithTwoNodes_RefusesWithReason()
    {
        var model = global::Onnx.ModelProto.Parser.ParseFrom(LinearOnnxExporter.Export(new LinearWeights([2f], 1f)));
        model.Graph.Node.Add(new global::Onnx.NodeProto { OpType = "Relu", Input = { "output" }, Output = { "relu" } });

        var ex = Assert.Throws<InvalidDataException>(() => LinearOnnxReader.Read(model.ToByteArray()));

        Assert.Contains("does not end in the output 'output'", ex.Message);
    }

    [Fact]
    public void Read_NotOnnx_RefusesWithReason()
    {
        var ex = Assert.Throws<InvalidDataException>(() => LinearOnnxReader.Read([0xff, 0xff, 0xff]));

        Assert.Contains("not an ONNX model", ex.Message);
    }
}
