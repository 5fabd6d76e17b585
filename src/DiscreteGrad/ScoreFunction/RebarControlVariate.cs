using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscreteGrad.ScoreFunction;

/// <summary>
/// REBAR's control variate (Tucker, Mnih, Maddison, Lawson and Sohl-Dickstein, "REBAR: Low-variance, unbiased gradient
/// estimates for discrete latent variable models", NeurIPS 2017): c(z) = eta f(sigmoid(z / lambda)), the function itself
/// at the Concrete relaxation of b = H(z) with temperature lambda, scaled by eta. Pass it to
/// <see cref="Relax.Bernoulli"/>: with it RELAX is REBAR. eta and log lambda are trainable parameters (train them on
/// <see cref="RelaxEstimate.VarianceLoss"/>, as the paper does); f must accept relaxed inputs in (0, 1).
/// </summary>
public sealed class RebarControlVariate : nn.Module<Tensor, Tensor>
{
    private readonly Func<Tensor, Tensor> _f;

    /// <summary>eta, the scale of the control variate (a scalar parameter).</summary>
    public Parameter eta { get; }

    /// <summary>log lambda, the log-temperature of the relaxation (a scalar parameter).</summary>
    public Parameter log_lambda { get; }

    /// <summary>Creates the control variate.</summary>
    /// <param name="f">The function of the estimator, applied to relaxed samples [S, ...] in (0, 1), giving [S].</param>
    /// <param name="eta">Initial eta (1 in the paper), finite.</param>
    /// <param name="lambda">Initial temperature, &gt; 0 (0.5 in the paper).</param>
    /// <param name="dtype">dtype of the parameters.</param>
    public RebarControlVariate(Func<Tensor, Tensor> f, double eta = 1.0, double lambda = 0.5, ScalarType dtype = ScalarType.Float32)
        : base(nameof(RebarControlVariate))
    {
        ArgumentNullException.ThrowIfNull(f);
        if (!double.IsFinite(eta)) throw new ArgumentOutOfRangeException(nameof(eta), eta, "eta must be finite.");
        Guard.Temperature(lambda, nameof(lambda));
        _f = f;
        this.eta = new Parameter(torch.tensor(eta, dtype: dtype));
        log_lambda = new Parameter(torch.tensor(Math.Log(lambda), dtype: dtype));
        RegisterComponents();
    }

    /// <summary>eta f(sigmoid(z / lambda)).</summary>
    /// <param name="z">Relaxed logits z [S, ...].</param>
    public override Tensor forward(Tensor z) => eta * _f(torch.sigmoid(z / log_lambda.exp()));
}
