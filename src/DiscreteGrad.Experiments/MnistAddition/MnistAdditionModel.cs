using DiscreteGrad.Estimators;
using DiscreteGrad.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscreteGrad.Experiments.MnistAddition;

/// <summary>
/// The MNIST-addition network (REFERENCE.md section 6): a LeNet encoder maps each image to features u; a
/// discrete-continuous component draws a 10-way categorical z from theta = Linear(u) and embeds it, v = z^T W (+ u with
/// DropRes); the ADD network maps the N embeddings, concatenated, to logits over the 9N + 1 possible sums.
/// </summary>
public sealed class MnistAdditionModel : nn.Module<Tensor, Tensor>
{
    private readonly Sequential encoder;
    private readonly DiscreteContinuousComponent digit;
    private readonly Sequential add;
    private readonly int _digits;

    /// <summary>Builds the network for the configuration, drawing the node's noise and the DropRes coins from the generator.</summary>
    public MnistAdditionModel(MnistAdditionConfig config, Generator generator) : base(nameof(MnistAdditionModel))
    {
        _digits = config.Digits;
        int d = config.EmbeddingDim;
        encoder = nn.Sequential(
            ("conv1", nn.Conv2d(1, 6, 5)), ("pool1", nn.MaxPool2d(2)), ("relu1", nn.ReLU()),
            ("conv2", nn.Conv2d(6, 16, 5)), ("pool2", nn.MaxPool2d(2)), ("relu2", nn.ReLU()),
            ("flatten", nn.Flatten()),
            ("fc1", nn.Linear(16 * 4 * 4, 120)), ("relu3", nn.ReLU()),
            ("fc2", nn.Linear(120, d)), ("relu4", nn.ReLU()));
        var node = new CategoricalNode(config.Estimator, new EstimatorOptions(Tau: config.Tau, Beta: config.Beta),
            config.Evaluation == AdditionEvaluation.Argmax ? EvalSampling.Argmax : EvalSampling.Sample, generator);
        digit = new DiscreteContinuousComponent(nn.Linear(d, 10), node, nn.Linear(10, d, hasBias: false),
            config.Scheme.UsesDropRes() ? config.DropResMode : DropResMode.None, generator);
        add = nn.Sequential(("add1", nn.Linear(config.Digits * d, config.AddHidden)), ("add_relu1", nn.ReLU()),
            ("add2", nn.Linear(config.AddHidden, config.AddHidden)), ("add_relu2", nn.ReLU()),
            ("add3", nn.Linear(config.AddHidden, config.Classes)));
        RegisterComponents();
    }

    /// <summary>The discrete-continuous component (schedules set its node's Tau/Beta and its Alpha).</summary>
    public DiscreteContinuousComponent Digit => digit;

    /// <summary>Logits over the sums for images [B, N, 1, 28, 28].</summary>
    public override Tensor forward(Tensor images) => Forward(images).SumLogits;

    /// <summary>Logits over the sums and the discrete node's category per image [B, N].</summary>
    public (Tensor SumLogits, Tensor Categories) Forward(Tensor images)
    {
        if (images.dim() != 5 || images.shape[1] != _digits)
            throw new ArgumentException($"images must have shape [B, {_digits}, 1, 28, 28] (got [{string.Join(", ", images.shape)}]).", nameof(images));
        using var scope = torch.NewDisposeScope();
        long b = images.shape[0];
        var u = encoder.call(images.reshape(b * _digits, 1, 28, 28));
        var o = digit.Forward(u);
        var logits = add.call(o.Output.reshape(b, -1));
        var cats = o.Sample.Hard.argmax(-1).reshape(b, _digits);
        return (scope.MoveToOuter(logits), scope.MoveToOuter(cats));
    }
}
