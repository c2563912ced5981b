using Google.Protobuf;
using MaaS.Onnx.Export;
using MaaS.Trainer.Onnx;
using MaaS.Trainer.Training;

namespace MaaS.Trainer.Tests;

public sealed class DenseNetworkReaderTests
{
    [Theory]
    [InlineData(DenseHead.None, false)]
    [InlineData(DenseHead.Sigmoid, true)]
    [InlineData(DenseHead.Softmax, true)]
    public void Read_OfExport_ReturnsTheSameLayersStandardisationAndHead(DenseHead head, bool label)
    {
        var outputs = head == DenseHead.Softmax ? 3 : 1;
        DenseLayer[] layers = [DenseLayer.Random(2, 5, DenseActivation.Tanh, seed: 1), DenseLayer.Random(5, 4, DenseActivation.Sigmoid, seed: 2), DenseLayer.Random(4, outputs, DenseActivation.None, seed: 3)];
        var options = new DenseNetworkOptions
        {
            Standardization = new DenseStandardization([1.5f, -2f], [0.5f, 3f]),
            Head = head,
            LabelOutput = label,
            GraphName = "mlp",
        };

        var read = DenseNetworkReader.Read(DenseNetworkExporter.Export(layers, options));

        Assert.Equal(layers.Length, read.Layers.Count);
        for (var i = 0; i < layers.Length; i++)
        {
            Assert.Equal((layers[i].Inputs, layers[i].Outputs, layers[i].Activation), (read.Layers[i].Inputs, read.Layers[i].Outputs, read.Layers[i].Activation));
            Assert.Equal(layers[i].Weight, read.Layers[i].Weight);
            Assert.Equal(layers[i].Bias, read.Layers[i].Bias);
        }
        Assert.Equal(options.Standardization.Mean, read.Options.Standardization!.Mean);
        Assert.Equal(options.Standardization.Scale, read.Options.Standardization.Scale);
        Assert.Equal((head, label), (read.Options.Head, read.Options.LabelOutput));
    }

    [Fact]
    public void Read_SingleLayerWithSigmoidActivation_IsNotMistakenForASigmoidHead()
    {
        var read = DenseNetworkReader.Read(DenseNetworkExporter.Export([DenseLayer.Random(3, 1, DenseActivation.Sigmoid, seed: 1)]));

        Assert.Equal((DenseActivation.Sigmoid, DenseHead.None), (read.Layers[0].Activation, read.Options.Head));
    }

    [Fact]
    public void Read_LinearModelOfEarlierTrainers_IsAOneLayerNetwork()
    {
        var read = NetworkWeights.From(DenseNetworkReader.Read(LinearOnnxExporter.Export(new LinearWeights([2f, 3f], 1f))));

        Assert.Equal([2f, 3f], read.Layers.Single().Weight);
        Assert.Null(read.Standardization);
    }

    [Fact]
    public void Read_GraphWithAForeignNode_RefusesWithReason()
    {
        var model = DenseNetworkExporter.Build([DenseLayer.Random(2, 2, DenseActivation.Relu, seed: 1), DenseLayer.Random(2, 1, DenseActivation.None, seed: 2)]);
        model.Graph.Node.Insert(1, new global::Onnx.NodeProto { Name = "dropout", OpType = "Dropout", Input = { "layer0.linear" }, Output = { "d" } });

        var ex = Assert.Throws<InvalidDataException>(() => DenseNetworkReader.Read(model.ToByteArray()));

        Assert.Contains("not a dense network written by the trainer", ex.Message);
    }

    [Fact]
    public void Export_LabelWithoutHead_Throws()
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            DenseNetworkExporter.Export([DenseLayer.Random(2, 1, DenseActivation.None, seed: 1)], new DenseNetworkOptions { LabelOutput = true }));

        Assert.Contains("label output needs a sigmoid or softmax head", ex.Message);
    }
}
