using DiscreteGrad.ScoreFunction;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscreteGrad.Experiments;

/// <summary>
/// The control variate of REBAR and RELAX as the experiments train it, one module whose parameters the experiment's
/// optimiser steps and whose state its checkpoints carry:
/// <code>c_phi(z) = eta f(relax(z / lambda)) + r_rho(z)</code>
/// the REBAR term (Tucker et al. 2017, "REBAR: Low-variance, unbiased gradient estimates for discrete latent variable
/// models"; <see cref="RebarControlVariate"/>, relax = softmax for categorical nodes, sigmoid for Bernoulli ones) and, for
/// RELAX (Grathwohl et al. 2018, "Backpropagation through the Void: Optimizing Control Variates for Black-Box Gradient
/// Estimation"), a network r_rho: the relaxed variable of one batch element, flattened, through Linear-tanh-Linear to one
/// value (REBAR: no network). f is the experiment's objective at the relaxed point, given per call (a VAE's depends on
/// the batch of images). The parameters phi = (eta, log lambda, rho) descend d E[g^2] / d phi (<see cref="Surrogate"/>).
/// </summary>
public sealed class RelaxControl : nn.Module
{
    private readonly RebarControlVariate rebar;
    private readonly Sequential? network;
    private readonly int _eventDims;

    /// <summary>Creates the control variate.</summary>
    /// <param name="categorical">Categorical nodes (softmax relaxation over the last axis) or Bernoulli ones (sigmoid).</param>
    /// <param name="eventDims">Trailing axes of z that make one batch element (2 for [.., N, K] categorical codes, 1 for
    /// [.., D] Bernoulli ones): the network sees them flattened.</param>
    /// <param name="eventSize">Their number of values (N K, or D).</param>
    /// <param name="hidden">Hidden units of r_rho, or null for REBAR (no network).</param>
    /// <param name="dtype">dtype of the parameters.</param>
    public RelaxControl(bool categorical, int eventDims, long eventSize, int? hidden, ScalarType dtype = ScalarType.Float32) : base(nameof(RelaxControl))
    {
        Guard.AtLeast(eventDims, 1, nameof(eventDims));
        Guard.AtLeast(eventSize, 1, nameof(eventSize));
        _eventDims = eventDims;
        rebar = new RebarControlVariate(1.0, 0.5, dtype, categorical);
        if (hidden is int h)
        {
            Guard.AtLeast(h, 1, nameof(hidden));
            network = nn.Sequential(("fc1", nn.Linear(eventSize, h, dtype: dtype)), ("tanh", nn.Tanh()), ("fc2", nn.Linear(h, 1, dtype: dtype)));
        }
        RegisterComponents();
    }

    /// <summary>Whether this is RELAX's control variate (with r_rho) rather than REBAR's.</summary>
    public bool HasNetwork => network is not null;

    /// <summary>c_phi(z) for relaxed z [S, ..., event]: eta f(relax(z / lambda)) (+ r_rho(z)), of f's shape.</summary>
    /// <param name="z">The relaxed logits.</param>
    /// <param name="f">The objective at relaxed points.</param>
    public Tensor Value(Tensor z, Func<Tensor, Tensor> f)
    {
        ArgumentNullException.ThrowIfNull(z);
        var c = rebar.forward(z, f);
        if (network is null) return c;
        return c + network.call(z.flatten(-_eventDims)).squeeze(-1);
    }

    /// <summary>
    /// The scalar whose one <c>backward()</c> applies the estimate: <paramref name="scale"/> sum(logits * sg(g)) gives the
    /// logits (and what computed them) the gradient <paramref name="scale"/> g, with g = <see cref="RelaxEstimate.Gradient"/>,
    /// and sum_phi phi * sg(d VarianceLoss / d phi) gives each parameter of this module the gradient of the Monte Carlo
    /// variance (only this module's parameters: the graph of g also reaches f's parameters, e.g. a decoder, which must not
    /// be trained on the variance). Its value is not a loss to log.
    /// </summary>
    /// <param name="logits">The logits the estimate is for (with their gradient path).</param>
    /// <param name="estimate">What <see cref="Relax"/> returned for them with <see cref="Value"/> as the control variate.</param>
    /// <param name="scale">Factor of the logits' gradient (1 / B for a batch mean of B per-row objectives).</param>
    public Tensor Surrogate(Tensor logits, RelaxEstimate estimate, double scale = 1.0)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(estimate);
        var parameters = this.parameters().ToArray();
        var grads = torch.autograd.grad(new[] { estimate.VarianceLoss }, parameters, retain_graph: true, allow_unused: true);
        var s = (logits * estimate.Gradient.detach()).sum() * scale;
        for (int i = 0; i < parameters.Length; i++)
            if (grads[i] is { } g && !g.IsInvalid) s = s + (parameters[i] * g.detach()).sum();
        return s;
    }
}
