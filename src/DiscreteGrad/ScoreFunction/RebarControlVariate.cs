using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscreteGrad.ScoreFunction;

/// <summary>
/// REBAR's control variate (Tucker, Mnih, Maddison, Lawson and Sohl-Dickstein, "REBAR: Low-variance, unbiased gradient
/// estimates for discrete latent variable models", NeurIPS 2017): c(z) = eta f(sigmoid(z / lambda)) for Bernoulli nodes,
/// c(z) = eta f(softmax(z / lambda)) (over the last axis) for categorical ones: the function itself at the Concrete
/// relaxation of b with temperature lambda, scaled by eta. Pass it to <see cref="Relax.Bernoulli"/> or
/// <see cref="Relax.Categorical"/>: with it RELAX is REBAR. eta and log lambda are trainable parameters (train them on
/// <see cref="RelaxEstimate.VarianceLoss"/>, as the paper does); f must accept relaxed inputs in (0, 1).
/// <para>When f changes between calls (a VAE's decoder term depends on the batch of images), create the control variate
/// without f and call <see cref="forward(Tensor, Func{Tensor, Tensor})"/> with the current f: the parameters stay, f does not.</para>
/// </summary>
public sealed class RebarControlVariate : nn.Module<Tensor, Tensor>
{
    private readonly Func<Tensor, Tensor>? _f;
    private readonly bool _categorical;

    /// <summary>eta, the scale of the control variate (a scalar parameter).</summary>
    public Parameter eta { get; }

    /// <summary>log lambda, the log-temperature of the relaxation (a scalar parameter).</summary>
    public Parameter log_lambda { get; }

    /// <summary>Creates the control variate.</summary>
    /// <param name="f">The function of the estimator, applied to relaxed samples [S, ...] in (0, 1), giving [S].</param>
    /// <param name="eta">Initial eta (1 in the paper), finite.</param>
    /// <param name="lambda">Initial temperature, &gt; 0 (0.5 in the paper).</param>
    /// <param name="dtype">dtype of the parameters.</param>
    /// <param name="categorical">Relax with softmax over the last axis (categorical nodes) instead of sigmoid (Bernoulli).</param>
    public RebarControlVariate(Func<Tensor, Tensor> f, double eta = 1.0, double lambda = 0.5, ScalarType dtype = ScalarType.Float32,
        bool categorical = false)
        : this(eta, lambda, dtype, categorical)
    {
        ArgumentNullException.ThrowIfNull(f);
        _f = f;
    }

    /// <summary>Creates the control variate without a fixed f: call <see cref="forward(Tensor, Func{Tensor, Tensor})"/>.</summary>
    /// <param name="eta">Initial eta (1 in the paper), finite.</param>
    /// <param name="lambda">Initial temperature, &gt; 0 (0.5 in the paper).</param>
    /// <param name="dtype">dtype of the parameters.</param>
    /// <param name="categorical">Relax with softmax over the last axis (categorical nodes) instead of sigmoid (Bernoulli).</param>
    public RebarControlVariate(double eta = 1.0, double lambda = 0.5, ScalarType dtype = ScalarType.Float32, bool categorical = false)
        : base(nameof(RebarControlVariate))
    {
        if (!double.IsFinite(eta)) throw new ArgumentOutOfRangeException(nameof(eta), eta, "eta must be finite.");
        Guard.Temperature(lambda, nameof(lambda));
        _categorical = categorical;
        this.eta = new Parameter(torch.tensor(eta, dtype: dtype));
        log_lambda = new Parameter(torch.tensor(Math.Log(lambda), dtype: dtype));
        RegisterComponents();
    }

    /// <summary>eta f(sigmoid(z / lambda)), or eta f(softmax(z / lambda)) for a categorical node, with the f given at construction.</summary>
    /// <param name="z">Relaxed logits z [S, ...].</param>
    public override Tensor forward(Tensor z) => forward(z, _f
        ?? throw new InvalidOperationException("this RebarControlVariate was created without f: call forward(z, f)."));

    /// <summary>eta f(sigmoid(z / lambda)), or eta f(softmax(z / lambda)) for a categorical node, with this call's f.</summary>
    /// <param name="z">Relaxed logits z [S, ...].</param>
    /// <param name="f">The function at the relaxed sample, [S, ...] in (0, 1) to values.</param>
    public Tensor forward(Tensor z, Func<Tensor, Tensor> f)
    {
        ArgumentNullException.ThrowIfNull(f);
        var scaled = z / log_lambda.exp();
        return eta * f(_categorical ? scaled.softmax(-1) : torch.sigmoid(scaled));
    }
}
