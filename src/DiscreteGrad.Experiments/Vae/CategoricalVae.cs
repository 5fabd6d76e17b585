using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscreteGrad.Experiments.Vae;

/// <summary>
/// The MNIST categorical VAE of Liu et al. 2023 ("Bridging Discrete and Backpropagation: Straight-Through and Beyond",
/// Table 2; after Jang et al.'s categorical VAE and the GST / ReinMax reference code):
/// encoder 784-512-256-(L*C) with ReLU, giving logits theta [B, L, C] of L independent categorical variables with C
/// classes; decoder (L*C)-256-512-784 with ReLU, giving Bernoulli logits of the 784 pixels. For an image x and a code z
/// (one-hot [L, C], or any relaxed value of that shape):
/// <code>BCE(z, x) = sum_pixels [softplus(l) - x l],  l = decoder(z)          (= -log p(x | z), x in [0, 1])
/// KL(q(.|x) || uniform) = sum_{l=1..L} sum_c q_lc log q_lc + L log C,   q = softmax(theta)
/// -ELBO(x) = E_{z ~ q}[BCE(z, x)] + KL</code>
/// The reference computes the BCE as binary_cross_entropy(sigmoid(l), x) and the KL with log(q + 1e-10); the forms here
/// are the same functions, computed stably. <see cref="Loss"/> gives a training loss for any <see cref="VaeObjective"/>.
/// </summary>
public sealed class CategoricalVae : nn.Module<Tensor, Tensor>
{
    /// <summary>Pixels per image.</summary>
    public const int Pixels = 784;

    private readonly Sequential encoder;
    private readonly Sequential decoder;

    /// <summary>Builds the network (parameters initialised from TorchSharp's default generator: seed it first).</summary>
    /// <param name="categories">C &gt;= 2, classes per variable.</param>
    /// <param name="latents">L &gt;= 1, number of variables.</param>
    public CategoricalVae(int categories, int latents) : base(nameof(CategoricalVae))
    {
        Guard.AtLeast(categories, 2, nameof(categories));
        Guard.AtLeast(latents, 1, nameof(latents));
        Categories = categories;
        Latents = latents;
        int code = categories * latents;
        encoder = nn.Sequential(("fc1", nn.Linear(Pixels, 512)), ("relu1", nn.ReLU()), ("fc2", nn.Linear(512, 256)),
            ("relu2", nn.ReLU()), ("fc3", nn.Linear(256, code)));
        decoder = nn.Sequential(("fc1", nn.Linear(code, 256)), ("relu1", nn.ReLU()), ("fc2", nn.Linear(256, 512)),
            ("relu2", nn.ReLU()), ("fc3", nn.Linear(512, Pixels)));
        RegisterComponents();
    }

    /// <summary>C, classes per variable.</summary>
    public int Categories { get; }
    /// <summary>L, number of variables.</summary>
    public int Latents { get; }

    /// <summary>The encoder (its parameters only).</summary>
    public Sequential Encoder => encoder;
    /// <summary>The decoder (its parameters only).</summary>
    public Sequential Decoder => decoder;

    /// <summary>The encoder logits theta [B, L, C] for images x [B, 784].</summary>
    public override Tensor forward(Tensor x) => EncoderLogits(x);

    /// <summary>The encoder logits theta [B, L, C] for images x [B, 784].</summary>
    public Tensor EncoderLogits(Tensor x)
    {
        if (x.dim() != 2 || x.shape[1] != Pixels)
            throw new ArgumentException($"x must have shape [B, {Pixels}] (got [{string.Join(", ", x.shape)}]).", nameof(x));
        return encoder.call(x).view(x.shape[0], Latents, Categories);
    }

    /// <summary>Bernoulli logits of the pixels [..., 784] for codes z [..., L, C] (one-hot or relaxed).</summary>
    public Tensor DecoderLogits(Tensor z)
    {
        CheckCode(z);
        var flat = z.reshape(z.shape.Take((int)z.dim() - 2).Append((long)Latents * Categories).ToArray());
        return decoder.call(flat);
    }

    /// <summary>
    /// BCE(z, x) = -log p(x | z) summed over the pixels, shape [..., B], for codes z [..., B, L, C] (extra leading sample
    /// dimensions allowed) and targets x [B, 784]. z is cast to x's dtype; gradients flow to z and to the decoder.
    /// </summary>
    public Tensor Bce(Tensor z, Tensor x)
    {
        CheckCode(z);
        if (x.dim() != 2 || x.shape[1] != Pixels || z.dim() < 3 || z.shape[^3] != x.shape[0])
            throw new ArgumentException($"x must have shape [B, {Pixels}] with B = {(z.dim() >= 3 ? z.shape[^3] : -1)} matching z [..., B, L, C] (got [{string.Join(", ", x.shape)}]).", nameof(x));
        using var scope = torch.NewDisposeScope();
        var l = DecoderLogits(z.to(x.dtype));
        var bce = (nn.functional.softplus(l) - x * l).sum(-1);
        return scope.MoveToOuter(bce);
    }

    /// <summary>KL(softmax(theta) || uniform) = sum_l sum_c q log q + L log C for logits [..., L, C], shape [...];
    /// differentiable.</summary>
    /// <remarks>When C &lt; L (the VAE's 10 x 30: C = 10, L = 30) the log-softmax runs on a [..., C, L] copy over its
    /// dimension -2: libtorch's softmax kernels over a last dimension narrower than a SIMD vector (16 floats) work row by
    /// row and took 0.50 ms for [100, 30, 10] here, over the other dimension 0.10 ms (forward and backward of the KL 1.06
    /// against 0.42 ms; `$B vae-step --parts 1`). The double sum then adds the same terms in another order, so the result
    /// equals the last-dimension formula up to float rounding.</remarks>
    public static Tensor KlToUniform(Tensor logits)
    {
        Guard.CategoricalLogits(logits);
        if (logits.dim() < 2) throw new ArgumentException("logits must have shape [..., L, C].", nameof(logits));
        using var scope = torch.NewDisposeScope();
        long l = logits.shape[^2], c = logits.shape[^1];
        var lq = c < l ? logits.transpose(-1, -2).log_softmax(-2) : logits.log_softmax(-1);
        var kl = (lq.exp() * lq).sum(new long[] { -1, -2 }) + l * Math.Log(c);
        return scope.MoveToOuter(kl);
    }

    /// <summary>The training loss of <paramref name="objective"/> on images x [B, 784] (one call = one step's forward).</summary>
    public VaeLoss Loss(Tensor x, VaeObjective objective)
    {
        ArgumentNullException.ThrowIfNull(objective);
        return objective.Loss(this, x);
    }

    /// <summary>
    /// The single-sample -ELBO with a hard sample z ~ q(.|x) per image (no gradient path through z), shape [B]:
    /// BCE(z, x) + KL. The estimate used for test -ELBO; averaged over <paramref name="samples"/> independent samples.
    /// </summary>
    public (Tensor Nelbo, Tensor Bce, Tensor Kl) SampledNegativeElbo(Tensor x, Generator? generator, int samples = 1)
    {
        Guard.AtLeast(samples, 1, nameof(samples));
        using var scope = torch.NewDisposeScope();
        var theta = EncoderLogits(x);
        var kl = KlToUniform(theta);
        var z = DiscreteGrad.ScoreFunction.Samples.Categorical(theta, samples, generator);
        var bce = Bce(z, x).mean(new long[] { 0 });
        return (scope.MoveToOuter(bce + kl), scope.MoveToOuter(bce), scope.MoveToOuter(kl));
    }

    private void CheckCode(Tensor z)
    {
        if (z.dim() < 2 || z.shape[^2] != Latents || z.shape[^1] != Categories)
            throw new ArgumentException($"z must have shape [..., {Latents}, {Categories}] (got [{string.Join(", ", z.shape)}]).", nameof(z));
    }
}
