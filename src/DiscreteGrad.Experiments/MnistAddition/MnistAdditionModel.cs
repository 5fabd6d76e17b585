using DiscreteGrad.Estimators;
using DiscreteGrad.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscreteGrad.Experiments.MnistAddition;

/// <summary>
/// The MNIST-addition network of Friede and Niepert (DCCG, NeurIPS 2021): a LeNet encoder maps each image to features u; a
/// discrete-continuous component draws a categorical z from theta = g(u) and embeds it, v = h(z) (+ u with DropRes); the
/// ADD network maps the N embeddings, concatenated, to logits over the 9N + 1 possible sums. Two variants
/// (<see cref="AdditionArchitecture"/>): the authors' code, with one matrix C tying the node's logits, the embedding and
/// the output layer, and a variant with separate parts.
/// </summary>
public sealed class MnistAdditionModel : nn.Module<Tensor, Tensor>
{
    private readonly Sequential encoder;
    private readonly DiscreteContinuousComponent digit;
    private readonly Sequential add;
    private readonly Parameter? centroids;
    private readonly int _digits;
    private readonly AdditionArchitecture _architecture;

    /// <summary>Builds the network for the configuration, drawing the node's noise and the DropRes coins from the generator.</summary>
    public MnistAdditionModel(MnistAdditionConfig config, Generator generator) : base(nameof(MnistAdditionModel))
    {
        _digits = config.Digits;
        _architecture = config.Architecture;
        int d = config.EmbeddingDim;
        var node = new CategoricalNode(config.Estimator, new EstimatorOptions(Tau: config.Tau, Beta: config.Beta),
            config.Evaluation == AdditionEvaluation.Argmax ? EvalSampling.Argmax : EvalSampling.Sample, generator: generator);
        var dropRes = config.Scheme.UsesDropRes() ? config.DropResMode : DropResMode.None;
        if (_architecture == AdditionArchitecture.Reference)
        {
            Categories = config.Classes;
            encoder = nn.Sequential(
                ("conv1", nn.Conv2d(1, 6, 5)), ("pool1", nn.MaxPool2d(2)), ("relu1", nn.ReLU()),
                ("conv2", nn.Conv2d(6, 16, 5)), ("pool2", nn.MaxPool2d(2)), ("relu2", nn.ReLU()),
                ("flatten", nn.Flatten()),
                ("fc1", nn.Linear(16 * 4 * 4, 120)), ("relu3", nn.ReLU()),
                ("fc2", nn.Linear(120, d)), ("relu4", nn.ReLU()),
                ("fc3", nn.Linear(d, d)));
            // nn.Embedding's default initialisation in the reference: N(0, 1).
            centroids = nn.Parameter(torch.randn(config.Classes, d));
            Func<Tensor> c = () => centroids!;
            digit = new DiscreteContinuousComponent(new CentroidLogits(c), node, new CentroidEmbedding(c), dropRes, generator);
            add = nn.Sequential(("add1", nn.Linear(config.Digits * d, config.Digits * d)), ("add_relu1", nn.ReLU()),
                ("add2", nn.Linear(config.Digits * d, d)), ("add_relu2", nn.ReLU()),
                ("add3", new CentroidLogits(c)));
        }
        else
        {
            Categories = 10;
            encoder = nn.Sequential(
                ("conv1", nn.Conv2d(1, 6, 5)), ("pool1", nn.MaxPool2d(2)), ("relu1", nn.ReLU()),
                ("conv2", nn.Conv2d(6, 16, 5)), ("pool2", nn.MaxPool2d(2)), ("relu2", nn.ReLU()),
                ("flatten", nn.Flatten()),
                ("fc1", nn.Linear(16 * 4 * 4, 120)), ("relu3", nn.ReLU()),
                ("fc2", nn.Linear(120, d)), ("relu4", nn.ReLU()));
            digit = new DiscreteContinuousComponent(nn.Linear(d, 10), node, nn.Linear(10, d, hasBias: false), dropRes, generator);
            add = nn.Sequential(("add1", nn.Linear(config.Digits * d, config.AddHidden)), ("add_relu1", nn.ReLU()),
                ("add2", nn.Linear(config.AddHidden, config.AddHidden)), ("add_relu2", nn.ReLU()),
                ("add3", nn.Linear(config.AddHidden, config.Classes)));
        }
        RegisterComponents();
    }

    /// <summary>The discrete-continuous component (schedules set its node's Tau/Beta and its Alpha).</summary>
    public DiscreteContinuousComponent Digit => digit;

    /// <summary>Number of categories of the discrete node (9N + 1 for the reference architecture, else 10).</summary>
    public int Categories { get; }

    /// <summary>Logits over the sums for images [B, N, 1, 28, 28].</summary>
    public override Tensor forward(Tensor images) => Forward(images).SumLogits;

    /// <summary>Logits over the sums and the discrete node's category per image [B, N].</summary>
    public (Tensor SumLogits, Tensor Categories) Forward(Tensor images)
    {
        if (images.dim() != 5 || images.shape[1] != _digits)
            throw new ArgumentException($"images must have shape [B, {_digits}, 1, 28, 28] (got [{string.Join(", ", images.shape)}]).", nameof(images));
        using var scope = torch.NewDisposeScope();
        long b = images.shape[0];
        var x = images.reshape(b * _digits, 1, 28, 28);
        if (_architecture == AdditionArchitecture.Reference) x = x * 2 - 1;     // Normalize((0.5), (0.5))
        var u = encoder.call(x);
        Tensor v, cats;
        if (_architecture == AdditionArchitecture.Reference)
        {
            // One component call per digit position, as the reference: each position draws its own DropRes coin.
            var perDigit = u.reshape(b, _digits, -1);
            var outputs = new Tensor[_digits];
            var categories = new Tensor[_digits];
            for (int j = 0; j < _digits; j++)
            {
                var o = digit.Forward(perDigit.select(1, j));
                outputs[j] = o.Output;
                categories[j] = o.Sample.Hard.argmax(-1);
            }
            v = torch.cat(outputs, 1);
            cats = torch.stack(categories, 1);
        }
        else
        {
            var o = digit.Forward(u);
            v = o.Output.reshape(b, -1);
            cats = o.Sample.Hard.argmax(-1).reshape(b, _digits);
        }
        var logits = add.call(v);
        return (scope.MoveToOuter(logits), scope.MoveToOuter(cats));
    }
}
