using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscreteGrad.Optim;

/// <summary>
/// Rectified Adam (Liyuan Liu, Haoming Jiang, Pengcheng He, Weizhu Chen, Xiaodong Liu, Jianfeng Gao and Jiawei Han,
/// "On the Variance of the Adaptive Learning Rate and Beyond", ICLR 2020), with the update rule of PyTorch's
/// <c>torch.optim.RAdam</c>. For each parameter p with gradient g at step t = 1, 2, ...:
/// <code>
/// g   = g + lambda p                          (L2 weight decay, when lambda != 0 and not decoupled)
/// p   = p (1 - lr lambda)                      (decoupled weight decay instead, when DecoupledWeightDecay)
/// m   = beta1 m + (1 - beta1) g;   m_hat = m / (1 - beta1^t)
/// v   = beta2 v + (1 - beta2) g^2
/// rho_inf = 2 / (1 - beta2) - 1;   rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t)
/// rho_t &gt; 5:  r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
///             p = p - lr m_hat r_t sqrt(1 - beta2^t) / (sqrt(v) + eps)
/// rho_t &lt;= 5: p = p - lr m_hat                (the variance of the adaptive rate is not yet tractable: SGD with momentum)
/// </code>
/// <para>It derives from TorchSharp's <see cref="OptimizerHelper"/>, so <c>step()</c>, <c>zero_grad()</c>, parameter
/// groups, learning-rate schedulers and <c>save_state_dict(path)</c> / <c>load_state_dict(path)</c> work as with
/// TorchSharp's own optimizers. TorchSharp 0.107's <c>torch.optim.RAdam</c> multiplies the rectified update by the learning
/// rate twice (lr^2 instead of lr once rho_t &gt; 5); this class does not.</para>
/// <para>On contiguous float32 / float64 CPU parameters <c>step()</c> applies the whole update in one fused pass per
/// parameter (bit-identical to its tensor-op path, which it runs otherwise), and <c>zero_grad()</c> releases the gradients
/// instead of zero-filling them, with the semantics of <see cref="Adam"/>.</para>
/// </summary>
public sealed class RAdam : OptimizerHelper, optim.IBetas
{
    private readonly ReleasedGradients _released = new();
    private readonly AdamKernel _kernel = new();

    /// <summary>Creates the optimiser over one group of parameters.</summary>
    /// <param name="parameters">Parameters to optimise.</param>
    /// <param name="lr">Learning rate &gt;= 0 (PyTorch's default 1e-3).</param>
    /// <param name="beta1">Decay of the first moment, in [0, 1).</param>
    /// <param name="beta2">Decay of the second moment, in [0, 1).</param>
    /// <param name="eps">Added to sqrt(v), &gt;= 0.</param>
    /// <param name="weightDecay">lambda &gt;= 0.</param>
    /// <param name="decoupledWeightDecay">Decoupled (AdamW-style) weight decay p = p (1 - lr lambda) instead of the L2 term.</param>
    public RAdam(IEnumerable<Parameter> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
        double eps = 1e-8, double weightDecay = 0, bool decoupledWeightDecay = false)
        : this(new[] { new ParamGroup(parameters) }, lr, beta1, beta2, eps, weightDecay, decoupledWeightDecay)
    {
    }

    /// <summary>Creates the optimiser over parameter groups; options a group leaves unset take these defaults.</summary>
    public RAdam(IEnumerable<ParamGroup> groups, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
        double eps = 1e-8, double weightDecay = 0, bool decoupledWeightDecay = false)
    {
        ArgumentNullException.ThrowIfNull(groups);
        var defaults = new Options
        {
            LearningRate = lr, InitialLearningRate = lr, Beta1 = beta1, Beta2 = beta2, Eps = eps, WeightDecay = weightDecay,
            DecoupledWeightDecay = decoupledWeightDecay,
        };
        defaults.Validate();
        _defaults = defaults;
        _parameter_groups = new List<TorchSharp.Modules.ParamGroup>();
        foreach (var g in groups) add_param_group(g);
    }

    /// <summary>(beta1, beta2) of the defaults.</summary>
    public (double, double) Betas
    {
        get { var o = (Options)_defaults; return (o.Beta1!.Value, o.Beta2!.Value); }
        set { var o = (Options)_defaults; o.Beta1 = value.Item1; o.Beta2 = value.Item2; }
    }

    /// <summary>rho_inf = 2 / (1 - beta2) - 1, the maximum length of the approximated simple moving average.</summary>
    public static double RhoInfinity(double beta2) => 2 / (1 - beta2) - 1;

    /// <summary>rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t), the length of the approximated simple moving average at step t.</summary>
    public static double Rho(long t, double beta2)
    {
        double bt = Math.Pow(beta2, t);
        return RhoInfinity(beta2) - 2 * t * bt / (1 - bt);
    }

    /// <summary>
    /// The variance rectification r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t)) when
    /// rho_t &gt; 5, else null (the step is an un-adapted momentum step).
    /// </summary>
    public static double? Rectification(long t, double beta2)
    {
        double rhoT = Rho(t, beta2), rhoInf = RhoInfinity(beta2);
        if (!(rhoT > 5)) return null;
        return Math.Sqrt((rhoT - 4) * (rhoT - 2) * rhoInf / ((rhoInf - 4) * (rhoInf - 2) * rhoT));
    }

    /// <summary>Adds a parameter group; options it leaves unset take the optimiser's defaults.</summary>
    public override void add_param_group(TorchSharp.Modules.ParamGroup param_group)
    {
        ArgumentNullException.ThrowIfNull(param_group);
        var d = (Options)_defaults;
        param_group.Options ??= new Options();
        if (param_group.Options is not Options o)
            throw new ArgumentException($"RAdam parameter groups need RAdam.Options (got {param_group.Options.GetType().Name}).", nameof(param_group));
        o.LearningRate ??= d.LearningRate;
        o.Beta1 ??= d.Beta1;
        o.Beta2 ??= d.Beta2;
        o.Eps ??= d.Eps;
        o.WeightDecay ??= d.WeightDecay;
        o.DecoupledWeightDecay ??= d.DecoupledWeightDecay;
        o.InitialLearningRate = o.LearningRate!.Value;
        o.Validate();
        _parameter_groups.Add(param_group);
        foreach (var p in param_group.Parameters)
        {
            var state = new State(p);
            state.Initialize(o);
            _state[p.Handle] = state;
        }
    }

    /// <summary>The number of updates applied to <paramref name="parameter"/> so far (t of its last update).</summary>
    public long StepCount(Parameter parameter) => ((State)_state[parameter.Handle]).Step;

    /// <summary>Releases the gradients (as <see cref="Adam"/>'s <c>zero_grad()</c> does); zero-fills them where the
    /// fused step does not apply.</summary>
    public override void zero_grad()
    {
        if (FusedStep.Fusable(_parameter_groups, _ => true)) _released.Release(parameters());
        else base.zero_grad();
    }

    /// <summary>One update of every parameter that has a gradient (the formula in the class summary).</summary>
    /// <param name="closure">Optional closure that re-evaluates the model and returns the loss.</param>
    public override Tensor step(Func<Tensor>? closure = null)
    {
        var loss = FusedStep.Run(_parameter_groups, _released, _kernel, _ => true, p =>
        {
            var s = (State)_state[p.Handle];
            return (s.ExpAvg, s.ExpAvgSq);
        }, (g, p) =>
        {
            var o = (Options)g.Options;
            var s = (State)_state[p.Handle];
            long t = ++s.Step;
            return AdamCoefficients.RAdam(t, o.LearningRate!.Value, o.Beta1!.Value, o.Beta2!.Value, o.Eps!.Value, o.WeightDecay!.Value,
                o.DecoupledWeightDecay!.Value);
        }, closure, out bool fused);
        if (!fused) TensorStep();
        return loss!;
    }

    /// <summary>The update by tensor operations (any device and dtype); the fused kernel computes the same floats.</summary>
    private void TensorStep()
    {
        _step<TorchSharp.Modules.ParamGroup>(group =>
        {
            var o = (Options)group.Options;
            double lr = o.LearningRate!.Value, beta1 = o.Beta1!.Value, beta2 = o.Beta2!.Value, eps = o.Eps!.Value;
            double lambda = o.WeightDecay!.Value;
            bool decoupled = o.DecoupledWeightDecay!.Value;
            foreach (var p in group.Parameters)
            {
                using var grad = p.grad;
                if (grad is null) continue;
                var s = (State)_state[p.Handle];
                long t = ++s.Step;
                var g = grad;
                if (lambda != 0)
                {
                    if (decoupled) p.mul_(1 - lr * lambda);
                    else g = grad.add(p, alpha: lambda);
                }
                s.ExpAvg.mul_(beta1).add_(g, alpha: 1 - beta1);
                s.ExpAvgSq.mul_(beta2).addcmul_(g, g, value: 1 - beta2);
                double bc1 = 1 - Math.Pow(beta1, t), bc2 = 1 - Math.Pow(beta2, t);
                var mHat = s.ExpAvg / bc1;
                double? r = Rectification(t, beta2);
                if (r is double rect)
                {
                    var denominator = s.ExpAvgSq.sqrt().add_(eps);
                    p.sub_(mHat.mul_(lr * rect * Math.Sqrt(bc2)).div_(denominator));
                }
                else p.sub_(mHat.mul_(lr));
            }
        });
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            foreach (var kv in _state) ((State)kv.Item2).Dispose();
            _kernel.Dispose();
        }
    }

    /// <summary>Hyperparameters of a parameter group (null: the optimiser's default).</summary>
    public sealed class Options : OptimizerOptions
    {
        /// <summary>Decay of the first moment.</summary>
        public double? Beta1 { get; set; }
        /// <summary>Decay of the second moment.</summary>
        public double? Beta2 { get; set; }
        /// <summary>Added to sqrt(v).</summary>
        public double? Eps { get; set; }
        /// <summary>Weight decay lambda.</summary>
        public double? WeightDecay { get; set; }
        /// <summary>Decoupled weight decay p = p (1 - lr lambda) instead of adding lambda p to the gradient.</summary>
        public bool? DecoupledWeightDecay { get; set; }

        /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> for a set value outside its range.</summary>
        public void Validate()
        {
            if (LearningRate is double lr && !(lr >= 0 && double.IsFinite(lr)))
                throw new ArgumentOutOfRangeException("lr", lr, $"lr must be a finite number >= 0 (got {lr}).");
            if (Beta1 is double b1 && !(b1 >= 0 && b1 < 1))
                throw new ArgumentOutOfRangeException("beta1", b1, $"beta1 must be in [0, 1) (got {b1}).");
            if (Beta2 is double b2 && !(b2 >= 0 && b2 < 1))
                throw new ArgumentOutOfRangeException("beta2", b2, $"beta2 must be in [0, 1) (got {b2}).");
            if (Eps is double e && !(e >= 0 && double.IsFinite(e)))
                throw new ArgumentOutOfRangeException("eps", e, $"eps must be a finite number >= 0 (got {e}).");
            if (WeightDecay is double w && !(w >= 0 && double.IsFinite(w)))
                throw new ArgumentOutOfRangeException("weightDecay", w, $"weightDecay must be a finite number >= 0 (got {w}).");
        }

        /// <inheritdoc />
        public override void LoadStateDict(OptimizerOptions source)
        {
            base.LoadStateDict(source);
            var o = (Options)source;
            Beta1 = o.Beta1; Beta2 = o.Beta2; Eps = o.Eps; WeightDecay = o.WeightDecay; DecoupledWeightDecay = o.DecoupledWeightDecay;
        }

        /// <inheritdoc />
        public override void LoadStateDict(BinaryReader reader)
        {
            base.LoadStateDict(reader);
            Beta1 = reader.ReadDouble();
            Beta2 = reader.ReadDouble();
            Eps = reader.ReadDouble();
            WeightDecay = reader.ReadDouble();
            DecoupledWeightDecay = reader.ReadBoolean();
        }

        /// <inheritdoc />
        public override void SaveStateDict(BinaryWriter writer)
        {
            base.SaveStateDict(writer);
            writer.Write(Beta1!.Value);
            writer.Write(Beta2!.Value);
            writer.Write(Eps!.Value);
            writer.Write(WeightDecay!.Value);
            writer.Write(DecoupledWeightDecay!.Value);
        }
    }

    /// <summary>A parameter group with its own options.</summary>
    public sealed class ParamGroup : ParamGroup<Options>
    {
        /// <summary>A group whose options all take the optimiser's defaults.</summary>
        public ParamGroup(IEnumerable<Parameter> parameters) : base(parameters, new Options())
        {
        }

        /// <summary>A group with the given options (unset ones take the optimiser's defaults).</summary>
        public ParamGroup(IEnumerable<Parameter> parameters, Options options) : base(parameters, options)
        {
        }
    }

    /// <summary>Per-parameter state: the step count t and the moments m and v.</summary>
    public sealed class State : OptimizerState, IDisposable
    {
        internal State(Parameter parameter) : base(parameter)
        {
            ExpAvg = torch.zeros_like(parameter).DetachFromDisposeScope();
            ExpAvgSq = torch.zeros_like(parameter).DetachFromDisposeScope();
        }

        /// <summary>Number of updates applied (t of the last one).</summary>
        public long Step { get; internal set; }
        /// <summary>m, the first moment.</summary>
        public Tensor ExpAvg { get; private set; }
        /// <summary>v, the second moment.</summary>
        public Tensor ExpAvgSq { get; private set; }

        /// <inheritdoc />
        public override void Initialize(OptimizerOptions options)
        {
            Step = 0;
            using (torch.no_grad())
            {
                ExpAvg.zero_();
                ExpAvgSq.zero_();
            }
        }

        /// <inheritdoc />
        public override void SaveStateDict(BinaryWriter writer)
        {
            writer.Write(Step);
            ExpAvg.Save(writer);
            ExpAvgSq.Save(writer);
        }

        /// <inheritdoc />
        public override void LoadStateDict(BinaryReader reader)
        {
            Step = reader.ReadInt64();
            ExpAvg.Load(reader);
            ExpAvgSq.Load(reader);
        }

        /// <inheritdoc />
        public override void LoadStateDict(OptimizerState source)
        {
            var s = (State)source;
            Step = s.Step;
            using (torch.no_grad())
            {
                ExpAvg.copy_(s.ExpAvg);
                ExpAvgSq.copy_(s.ExpAvgSq);
            }
        }

        /// <inheritdoc />
        public override bool ApproximatelyEquals(OptimizerState other)
            => other is State s && s.Step == Step && s.ExpAvg.allclose(ExpAvg) && s.ExpAvgSq.allclose(ExpAvgSq);

        /// <inheritdoc />
        public override void to(Device device)
        {
            ExpAvg = ExpAvg.to(device, disposeAfter: true).DetachFromDisposeScope();
            ExpAvgSq = ExpAvgSq.to(device, disposeAfter: true).DetachFromDisposeScope();
        }

        /// <summary>Disposes m and v.</summary>
        public void Dispose()
        {
            ExpAvg.Dispose();
            ExpAvgSq.Dispose();
        }
    }
}
