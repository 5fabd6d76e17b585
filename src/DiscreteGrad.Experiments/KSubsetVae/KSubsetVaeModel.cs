using DiscreteGrad.Imle;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscreteGrad.Experiments.KSubsetVae;

/// <summary>What one forward pass of <see cref="KSubsetVaeModel"/> returns.</summary>
/// <param name="Logits">Encoder logits theta [B, M*N] (block m holds columns m*N .. m*N + N - 1).</param>
/// <param name="Code">The k-subset code [B*S, M*N], row b*S + s: sample s of example b, exactly k ones per block.</param>
/// <param name="Reconstruction">Decoder logits [B*S, D] of the pixels, row b*S + s.</param>
public sealed record KSubsetVaeOutput(Tensor Logits, Tensor Code, Tensor Reconstruction);

/// <summary>
/// The discrete VAE of the AIMLE paper (reference: torch-adaptive-imle, aaai23/torch/dvae/modules.py): encoder
/// D-512-256-(M*N) with ReLUs, decoder (M*N)-256-512-D with ReLUs and pixel logits out; every linear layer Xavier-uniform
/// with the ReLU gain sqrt(2), biases zero. The code: the encoder logits are cut into M blocks of N, each block goes
/// through the perturb-and-MAP layer (top-k) as one instance [B*M, N], and the S samples per block are regrouped so
/// that the decoder sees one whole code per (example, sample): [B*S, M*N].
/// <para>The model can hold its code layer (<see cref="Layer"/>, the submodule <c>imle</c>): an <see cref="ImleLayer"/>
/// (I-MLE, AIMLE), whose adaptive target's state (<c>imle.target.beta</c>, ...) is then in the model's state_dict and
/// travels with its checkpoints, or a <see cref="SimpleKSubsetLayer"/> (SIMPLE, no state; the submodule keeps the name
/// <c>imle</c> so that the checkpoints of I-MLE and AIMLE runs keep their keys).</para>
/// </summary>
public sealed class KSubsetVaeModel : nn.Module
{
    private readonly Sequential encoder;
    private readonly Sequential decoder;
    private readonly nn.Module<Tensor, Tensor>? imle;

    /// <summary>Builds the networks for <paramref name="config"/> (initialised from TorchSharp's default generator).</summary>
    /// <param name="config">The configuration (validated).</param>
    /// <param name="inputSize">Pixels per image D (784 for MNIST).</param>
    /// <param name="layer">The code layer, an <see cref="ImleLayer"/> or a <see cref="SimpleKSubsetLayer"/> with
    /// <see cref="SampleLayout.Stacked"/>, registered as the submodule <c>imle</c> (null: pass one to
    /// <see cref="Forward(Tensor, nn.Module{Tensor, Tensor})"/>).</param>
    public KSubsetVaeModel(KSubsetVaeConfig config, int inputSize = 784, nn.Module<Tensor, Tensor>? layer = null) : base(nameof(KSubsetVaeModel))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Guard.AtLeast(inputSize, 1, nameof(inputSize));
        Blocks = config.Blocks;
        Categories = config.Categories;
        InputSize = inputSize;
        encoder = nn.Sequential(
            ("enc1", Init(nn.Linear(inputSize, config.Hidden1))), ("enc_relu1", nn.ReLU()),
            ("enc2", Init(nn.Linear(config.Hidden1, config.Hidden2))), ("enc_relu2", nn.ReLU()),
            ("enc3", Init(nn.Linear(config.Hidden2, config.CodeSize))));
        decoder = nn.Sequential(
            ("dec1", Init(nn.Linear(config.CodeSize, config.Hidden2))), ("dec_relu1", nn.ReLU()),
            ("dec2", Init(nn.Linear(config.Hidden2, config.Hidden1))), ("dec_relu2", nn.ReLU()),
            ("dec3", Init(nn.Linear(config.Hidden1, inputSize))));
        if (layer is not null) StackedSamples(layer, nameof(layer));
        imle = layer;
        RegisterComponents();
    }

    /// <summary>Number of blocks M.</summary>
    public int Blocks { get; }
    /// <summary>Entries per block N.</summary>
    public int Categories { get; }
    /// <summary>Pixels per image D.</summary>
    public int InputSize { get; }

    /// <summary>Encoder logits theta [B, M*N] for images [B, D].</summary>
    public Tensor Encode(Tensor x) => encoder.call(x);

    /// <summary>Pixel logits [R, D] for codes [R, M*N].</summary>
    public Tensor Decode(Tensor code) => decoder.call(code);

    /// <summary>The model's own code layer (null when it was built without one).</summary>
    public nn.Module<Tensor, Tensor>? Layer => imle;

    /// <summary>Encodes x, draws the code through the model's own <see cref="Layer"/> and decodes it.</summary>
    public KSubsetVaeOutput Forward(Tensor x)
        => Forward(x, imle ?? throw new InvalidOperationException("This model was built without a layer; use Forward(x, layer)."));

    /// <summary>
    /// Encodes images x [B, D], draws the k-subset code through <paramref name="layer"/> (an <see cref="ImleLayer"/> or a
    /// <see cref="SimpleKSubsetLayer"/>, which must use <see cref="SampleLayout.Stacked"/>) and decodes it. With S samples the
    /// layer returns [B*M*S, N] with row (b*M + m)*S + s; it is reshaped to [B, M, S, N], transposed to [B, S, M, N] and
    /// flattened to the codes [B*S, M*N].
    /// </summary>
    public KSubsetVaeOutput Forward(Tensor x, nn.Module<Tensor, Tensor> layer)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(layer);
        if (x.dim() != 2 || x.shape[1] != InputSize)
            throw new ArgumentException($"x must have shape [B, {InputSize}] (got [{string.Join(", ", x.shape)}]).", nameof(x));
        int s = StackedSamples(layer, nameof(layer));
        using var scope = torch.NewDisposeScope();
        long b = x.shape[0];
        var logits = Encode(x);
        var blocks = logits.reshape(b * Blocks, Categories);
        var z = layer.forward(blocks);                                        // [B*M*S, N]
        var code = z.reshape(b, Blocks, s, Categories).transpose(1, 2).reshape(b * s, Blocks * Categories);
        var reconstruction = Decode(code);
        return new KSubsetVaeOutput(scope.MoveToOuter(logits), scope.MoveToOuter(code), scope.MoveToOuter(reconstruction));
    }

    /// <summary>The samples S of a code layer with the stacked layout; anything else is refused, naming <paramref name="name"/>.</summary>
    private static int StackedSamples(nn.Module<Tensor, Tensor> layer, string name)
    {
        var (samples, layout) = layer switch
        {
            ImleLayer l => (l.Options.Samples, l.Options.Layout),
            SimpleKSubsetLayer l => (l.Samples, l.Layout),
            _ => throw new ArgumentException($"layer must be an ImleLayer or a SimpleKSubsetLayer (got {layer.GetType().Name}).", name),
        };
        if (layout != SampleLayout.Stacked)
            throw new ArgumentException("layer must use SampleLayout.Stacked: the decoder sees every sample.", name);
        return samples;
    }

    private static Linear Init(Linear layer)
    {
        using var _ = torch.no_grad();
        nn.init.xavier_uniform_(layer.weight!, gain: nn.init.calculate_gain(nn.init.NonlinearityType.ReLU));
        nn.init.zeros_(layer.bias!);
        return layer;
    }
}
