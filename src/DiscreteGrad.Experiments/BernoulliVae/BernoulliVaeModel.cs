using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscreteGrad.Experiments.BernoulliVae;

/// <summary>
/// The Bernoulli VAE: q(z | x) = prod_d Bernoulli(sigmoid(phi_d(x))) with phi = encoder(x) (pixels-H-H-D, LeakyReLU(0.3)),
/// p(z) = prod_d Bernoulli(sigmoid(lambda_d)) with learned logits lambda, p(x | z) = prod_i Bernoulli(sigmoid(decoder(z)_i))
/// (D-H-H-pixels, LeakyReLU(0.3)). The negative ELBO is E_q[-log p(x | z)] + KL(q(z | x) || p(z)); the expectation is
/// estimated by the chosen estimator, the KL is computed exactly. Optionally holds NVIL's baseline network c(x).
/// </summary>
public sealed class BernoulliVaeModel : nn.Module<Tensor, Tensor>
{
    private readonly Sequential encoder;
    private readonly Sequential decoder;
    private readonly Parameter prior;
    private readonly Sequential? baseline;
    private readonly RelaxControl? control;

    /// <summary>Builds the networks (parameters from TorchSharp's default initialisation, seeded by the caller).</summary>
    /// <param name="pixels">Observed dimensions (784 for MNIST).</param>
    /// <param name="hidden">Width of the hidden layers.</param>
    /// <param name="latent">Bernoulli latents.</param>
    /// <param name="baselineHidden">Hidden units of NVIL's c(x); null: no baseline network.</param>
    /// <param name="control">REBAR's or RELAX's control variate (registered as "control", so Adam steps it and
    /// checkpoints carry it); null: none.</param>
    public BernoulliVaeModel(int pixels, int hidden, int latent, int? baselineHidden = null, RelaxControl? control = null) : base(nameof(BernoulliVaeModel))
    {
        Guard.AtLeast(pixels, 1, nameof(pixels));
        Guard.AtLeast(hidden, 1, nameof(hidden));
        Guard.AtLeast(latent, 1, nameof(latent));
        Pixels = pixels;
        Latent = latent;
        encoder = nn.Sequential(
            ("fc1", nn.Linear(pixels, hidden)), ("act1", nn.LeakyReLU(0.3)),
            ("fc2", nn.Linear(hidden, hidden)), ("act2", nn.LeakyReLU(0.3)),
            ("fc3", nn.Linear(hidden, latent)));
        decoder = nn.Sequential(
            ("fc1", nn.Linear(latent, hidden)), ("act1", nn.LeakyReLU(0.3)),
            ("fc2", nn.Linear(hidden, hidden)), ("act2", nn.LeakyReLU(0.3)),
            ("fc3", nn.Linear(hidden, pixels)));
        prior = nn.Parameter(torch.zeros(latent));
        this.control = control;
        if (baselineHidden is int bh)
        {
            Guard.AtLeast(bh, 1, nameof(baselineHidden));
            baseline = nn.Sequential(("fc1", nn.Linear(pixels, bh)), ("tanh", nn.Tanh()), ("fc2", nn.Linear(bh, 1)));
        }
        RegisterComponents();
    }

    /// <summary>Observed dimensions.</summary>
    public int Pixels { get; }
    /// <summary>Bernoulli latents.</summary>
    public int Latent { get; }
    /// <summary>NVIL's baseline network c(x) ([B, pixels] to [B, 1]), or null.</summary>
    public nn.Module<Tensor, Tensor>? Baseline => baseline;
    /// <summary>REBAR's or RELAX's control variate, or null.</summary>
    public RelaxControl? Control => control;
    /// <summary>The prior logits lambda [D].</summary>
    public Tensor PriorLogits => prior;

    /// <summary>The encoder logits phi(x) [B, D] for x [B, pixels].</summary>
    public override Tensor forward(Tensor x) => encoder.call(x);

    /// <summary>-log p(x | z) summed over pixels: z [..., B, D] (hard or relaxed), x [B, pixels] -> [..., B].</summary>
    public Tensor NegLogLikelihood(Tensor x, Tensor z)
    {
        using var scope = torch.NewDisposeScope();
        var logits = decoder.call(z);
        var target = x.expand(logits.shape);
        var nll = nn.functional.binary_cross_entropy_with_logits(logits, target, reduction: nn.Reduction.None).sum(-1);
        return scope.MoveToOuter(nll);
    }

    /// <summary>
    /// KL(q || p) = sum_d [q_d (log q_d - log p_d) + (1 - q_d)(log(1 - q_d) - log(1 - p_d))] with q_d = sigmoid(phi_d),
    /// p_d = sigmoid(lambda_d), from the logits (log-sigmoids, stable): phi [..., D] -> [...].
    /// </summary>
    public Tensor Kl(Tensor logits)
    {
        using var scope = torch.NewDisposeScope();
        var q = torch.sigmoid(logits);
        var lq1 = nn.functional.logsigmoid(logits);
        var lq0 = nn.functional.logsigmoid(-logits);
        var lp1 = nn.functional.logsigmoid(prior);
        var lp0 = nn.functional.logsigmoid(-prior);
        var kl = (q * (lq1 - lp1) + (1 - q) * (lq0 - lp0)).sum(-1);
        return scope.MoveToOuter(kl);
    }

    /// <summary>log p(z) under the prior, z [..., D] in {0, 1} -> [...].</summary>
    public Tensor PriorLogProb(Tensor z)
    {
        using var scope = torch.NewDisposeScope();
        var lp = (z * nn.functional.logsigmoid(prior) + (1 - z) * nn.functional.logsigmoid(-prior)).sum(-1);
        return scope.MoveToOuter(lp);
    }
}
