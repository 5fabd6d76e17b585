using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscreteGrad.Optim;

/// <summary>
/// Adam (Diederik P. Kingma and Jimmy Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015) with TorchSharp's update
/// rule, applied by one fused pass per parameter instead of a chain of tensor kernels. For parameter p, gradient g, step t:
/// <code>
/// g = -g                     (maximize)
/// g = g + lambda p           (L2 weight decay lambda)
/// m = beta1 m + (1 - beta1) g;   v = beta2 v + (1 - beta2) g^2
/// p = p - (lr / (1 - beta1^t)) m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
/// </code>
/// <para>It is TorchSharp's <see cref="TorchSharp.Modules.Adam"/> (it derives from it, and has its name, which TorchSharp
/// writes into and checks in a saved state): the same options, parameter groups, state
/// (<see cref="TorchSharp.Modules.Adam.State"/>), learning-rate schedulers and <c>save_state_dict</c> / <c>load_state_dict</c>
/// format, so checkpoints move between the two. On contiguous float32 / float64 CPU parameters <c>step()</c> updates each
/// parameter in two SIMD passes over p, g, m and v, chunk by chunk, with libtorch's square root between them (TorchSharp's
/// step launches eight kernels per parameter, each a pass over memory, and allocates two temporaries), with the same float
/// operations in the same order, so the result is bit-identical to TorchSharp's Adam. Otherwise (another device or dtype,
/// AMSGrad) it runs TorchSharp's step.</para>
/// <para><c>zero_grad()</c> releases the gradients (PyTorch's <c>set_to_none=True</c>), so the next backward stores its
/// gradient tensors instead of adding them into zero-filled ones; a parameter that had a gradient and gets none from the next
/// backward is still updated with a zero gradient, as after TorchSharp's zero-filling <c>zero_grad()</c>. Between
/// <c>zero_grad()</c> and <c>backward()</c> a parameter's <c>grad</c> is therefore null, not zeros. The update writes the
/// parameters' memory directly, outside autograd's version counters: step only when no live graph still needs the old
/// values (as after an ordinary backward).</para>
/// </summary>
public sealed class Adam : TorchSharp.Modules.Adam
{
    private readonly FusedAdamFamily _fused = new(decoupled: false);

    /// <summary>Creates the optimiser over one group of parameters (TorchSharp's <see cref="TorchSharp.Modules.Adam"/> arguments).</summary>
    public Adam(IEnumerable<Parameter> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
        double weight_decay = 0, bool amsgrad = false, bool maximize = false)
        : base(parameters, lr, beta1, beta2, eps, weight_decay, amsgrad, maximize)
    {
    }

    /// <summary>Creates the optimiser over parameter groups (TorchSharp's <see cref="TorchSharp.Modules.Adam"/> arguments).</summary>
    public Adam(IEnumerable<ParamGroup> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
        double weight_decay = 0, bool amsgrad = false, bool maximize = false)
        : base(parameters, lr, beta1, beta2, eps, weight_decay, amsgrad, maximize)
    {
    }

    /// <summary>Releases the gradients (see the class remarks); zero-fills them where the fused step does not apply.</summary>
    public override void zero_grad()
    {
        if (!_fused.TryZeroGrad(_parameter_groups)) base.zero_grad();
    }

    /// <summary>One update of every parameter (the formula in the class summary).</summary>
    /// <param name="closure">Optional closure that re-evaluates the model and returns the loss.</param>
    public override Tensor step(Func<Tensor>? closure = null)
    {
        if (!_fused.TryStep(_parameter_groups, _state, closure, out var loss)) base.step();
        return loss!;
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing) _fused.Dispose();
    }
}

/// <summary>
/// AdamW (Ilya Loshchilov and Frank Hutter, "Decoupled Weight Decay Regularization", ICLR 2019) with TorchSharp's update rule,
/// applied by one fused pass per parameter: as <see cref="Adam"/> with the L2 term replaced by the decoupled decay
/// p = p (1 - lr lambda) before the moments. It is TorchSharp's <see cref="TorchSharp.Modules.AdamW"/> (it derives from it
/// and has its name; same options, state and checkpoint format) and is bit-identical to it on contiguous float32 / float64 CPU parameters; otherwise
/// (another device or dtype, AMSGrad) it runs TorchSharp's step. <c>zero_grad()</c> releases the gradients as
/// <see cref="Adam"/>'s does.
/// </summary>
public sealed class AdamW : TorchSharp.Modules.AdamW
{
    private readonly FusedAdamFamily _fused = new(decoupled: true);

    /// <summary>Creates the optimiser over one group of parameters (TorchSharp's <see cref="TorchSharp.Modules.AdamW"/> arguments).</summary>
    public AdamW(IEnumerable<Parameter> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
        double weight_decay = 0, bool amsgrad = false, bool maximize = false)
        : base(parameters, lr, beta1, beta2, eps, weight_decay, amsgrad, maximize)
    {
    }

    /// <summary>Creates the optimiser over parameter groups (TorchSharp's <see cref="TorchSharp.Modules.AdamW"/> arguments).</summary>
    public AdamW(IEnumerable<ParamGroup> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
        double weight_decay = 0, bool amsgrad = false, bool maximize = false)
        : base(parameters, lr, beta1, beta2, eps, weight_decay, amsgrad, maximize)
    {
    }

    /// <summary>Releases the gradients (see <see cref="Adam"/>); zero-fills them where the fused step does not apply.</summary>
    public override void zero_grad()
    {
        if (!_fused.TryZeroGrad(_parameter_groups)) base.zero_grad();
    }

    /// <summary>One update of every parameter.</summary>
    /// <param name="closure">Optional closure that re-evaluates the model and returns the loss.</param>
    public override Tensor step(Func<Tensor>? closure = null)
    {
        if (!_fused.TryStep(_parameter_groups, _state, closure, out var loss)) base.step();
        return loss!;
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing) _fused.Dispose();
    }
}

/// <summary>
/// The fused step over TorchSharp's Adam and AdamW options and states (<see cref="Adam"/> and <see cref="AdamW"/> differ only
/// in the weight decay): the released gradients and the kernel's scratch of one optimiser.
/// </summary>
internal sealed class FusedAdamFamily : IDisposable
{
    private readonly ReleasedGradients _released = new();
    private readonly AdamKernel _kernel = new();
    private readonly bool _decoupled;

    public FusedAdamFamily(bool decoupled) => _decoupled = decoupled;

    /// <summary>Releases the gradients when the fused step applies; false (nothing done) otherwise.</summary>
    public bool TryZeroGrad(IList<TorchSharp.Modules.ParamGroup> groups)
    {
        if (!FusedStep.Fusable(groups, NoAmsgrad)) return false;
        _released.Release(groups.SelectMany(g => g.Parameters));
        return true;
    }

    /// <summary>Evaluates the closure, then the fused step (see <see cref="FusedStep.Run"/>); false when it does not apply
    /// (then only the closure ran: the caller runs its tensor-op step without the closure).</summary>
    public bool TryStep(IList<TorchSharp.Modules.ParamGroup> groups, TorchSharp.Utils.OrderedDict<IntPtr, OptimizerState> state,
        Func<Tensor>? closure, out Tensor? loss)
    {
        loss = FusedStep.Run(groups, _released, _kernel, NoAmsgrad, p => Moments(state[p.Handle]), (g, p) =>
        {
            var h = HyperOf(g.Options);
            long t = Advance(state[p.Handle]);
            return AdamCoefficients.Adam(t, h.Lr, h.Beta1, h.Beta2, h.Eps, h.WeightDecay, _decoupled, h.Maximize);
        }, closure, out bool fused);
        return fused;
    }

    private static bool NoAmsgrad(TorchSharp.Modules.ParamGroup g) => !HyperOf(g.Options).Amsgrad;

    private static (Tensor M, Tensor V) Moments(OptimizerState s) => s switch
    {
        TorchSharp.Modules.Adam.State a => (a.exp_avg, a.exp_avg_sq),
        TorchSharp.Modules.AdamW.State w => (w.exp_avg, w.exp_avg_sq),
        _ => throw new InvalidOperationException($"unexpected optimiser state {s.GetType().Name}"),
    };

    /// <summary>t = t + 1 in the state; returns the new t.</summary>
    private static long Advance(OptimizerState s) => s switch
    {
        TorchSharp.Modules.Adam.State a => ++a.step,
        TorchSharp.Modules.AdamW.State w => ++w.step,
        _ => throw new InvalidOperationException($"unexpected optimiser state {s.GetType().Name}"),
    };

    private readonly record struct Hyper(double Lr, double Beta1, double Beta2, double Eps, double WeightDecay, bool Amsgrad, bool Maximize);

    private static Hyper HyperOf(OptimizerOptions o) => o switch
    {
        TorchSharp.Modules.Adam.Options a => new(a.LearningRate!.Value, a.beta1!.Value, a.beta2!.Value, a.eps!.Value, a.weight_decay!.Value, a.amsgrad!.Value, a.maximize!.Value),
        TorchSharp.Modules.AdamW.Options w => new(w.LearningRate!.Value, w.beta1!.Value, w.beta2!.Value, w.eps!.Value, w.weight_decay!.Value, w.amsgrad!.Value, w.maximize!.Value),
        _ => throw new InvalidOperationException($"unexpected optimiser options {o.GetType().Name}"),
    };

    public void Dispose() => _kernel.Dispose();
}

/// <summary>The loop the fused optimisers share.</summary>
internal static class FusedStep
{
    /// <summary>Whether every parameter suits the kernel and every group's options allow it.</summary>
    public static bool Fusable(IEnumerable<TorchSharp.Modules.ParamGroup> groups, Func<TorchSharp.Modules.ParamGroup, bool> groupAllows)
    {
        foreach (var g in groups)
        {
            if (!groupAllows(g)) return false;
            foreach (var p in g.Parameters)
                if (!AdamKernel.Supports(p)) return false;
        }
        return true;
    }

    /// <summary>
    /// The fused step: evaluates the closure (with autograd on), then, when every parameter, gradient and moment suits the
    /// kernel, for every parameter that takes an update advances its state (<paramref name="advance"/> returns the step's
    /// coefficients) and runs the kernel, and sets <paramref name="fused"/> = true. Otherwise it updates nothing, gives back
    /// the zero gradients <see cref="ReleasedGradients"/> took (for the caller's tensor-op step, to run without the closure)
    /// and sets <paramref name="fused"/> = false. Returns the closure's loss (null without a closure).
    /// </summary>
    public static Tensor? Run(IEnumerable<TorchSharp.Modules.ParamGroup> groups, ReleasedGradients released, AdamKernel kernel,
        Func<TorchSharp.Modules.ParamGroup, bool> groupAllows, Func<Parameter, (Tensor M, Tensor V)> moments,
        Func<TorchSharp.Modules.ParamGroup, Parameter, AdamCoefficients> advance, Func<Tensor>? closure, out bool fused)
    {
        Tensor? loss = null;
        if (closure is not null)
            using (torch.enable_grad())
                loss = closure();
        var work = new List<(TorchSharp.Modules.ParamGroup Group, Parameter P, Tensor? Grad)>();
        try
        {
            fused = true;
            foreach (var g in groups)
            {
                if (!groupAllows(g)) fused = false;
                foreach (var p in g.Parameters)
                {
                    var grad = p.grad;
                    work.Add((g, p, grad));
                    if (!AdamKernel.Supports(p) || (grad is not null && (grad.is_sparse || grad.dtype != p.dtype || grad.device_type != DeviceType.CPU)))
                        fused = false;
                    else
                    {
                        var (m, v) = moments(p);
                        if (!AdamKernel.Supports(m) || !AdamKernel.Supports(v) || m.dtype != p.dtype || v.dtype != p.dtype) fused = false;
                    }
                }
            }
            if (!fused)
            {
                released.Restore(work.Select(w => w.P));
                return loss;
            }
            foreach (var (g, p, grad) in work)
            {
                if (!released.TakesUpdate(p, grad)) continue;
                var c = advance(g, p);
                var (m, v) = moments(p);
                kernel.Apply(p, grad, m, v, c);
            }
            return loss;
        }
        finally
        {
            foreach (var w in work) w.Grad?.Dispose();
        }
    }
}
