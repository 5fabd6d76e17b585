using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscreteGrad.Optim;

/// <summary>
/// Lowers the learning rate when a monitored metric stops improving, with the rule of PyTorch's
/// <c>torch.optim.lr_scheduler.ReduceLROnPlateau</c> (threshold mode "rel"). After each evaluation with value a:
/// <code>
/// better(a)  = a &gt; best (1 + threshold)        (maximise; minimise: a &lt; best (1 - threshold))
/// better(a):   best = a, bad = 0;   else bad = bad + 1
/// in cooldown: cooldown = cooldown - 1, bad = 0
/// bad &gt; patience:  lr_g = max(lr_g factor, min_lr) for every group g (when that lowers it by more than eps),
///                   cooldown = cooldown period, bad = 0
/// </code>
/// with best starting at -inf (maximise) or +inf. So with patience P the rate falls after the (P + 1)-th evaluation in a
/// row without improvement. Its whole state (best, bad count, cooldown counter, evaluations and the groups' rates) is a
/// float64 tensor (<see cref="GetState"/>, <see cref="SetState"/>), for a task's checkpoints.
/// </summary>
public sealed class ReduceLROnPlateau
{
    private readonly OptimizerHelper _optimizer;

    /// <summary>Creates the schedule of <paramref name="optimizer"/>'s learning rates.</summary>
    /// <param name="optimizer">The optimiser whose groups' rates are lowered.</param>
    /// <param name="maximize">Whether larger metric values are better (an accuracy); false for a loss.</param>
    /// <param name="factor">Factor of each reduction, in (0, 1).</param>
    /// <param name="patience">Evaluations without improvement that are tolerated (&gt;= 0).</param>
    /// <param name="threshold">Relative improvement that counts (&gt;= 0; PyTorch's default 1e-4).</param>
    /// <param name="cooldown">Evaluations after a reduction during which bad ones are not counted (&gt;= 0).</param>
    /// <param name="minLearningRate">Lowest rate (&gt;= 0).</param>
    /// <param name="eps">Smallest change of a rate that is applied (&gt;= 0).</param>
    public ReduceLROnPlateau(OptimizerHelper optimizer, bool maximize = true, double factor = 0.1, int patience = 10, double threshold = 1e-4,
        int cooldown = 0, double minLearningRate = 0, double eps = 1e-8)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        if (!(factor > 0 && factor < 1)) throw new ArgumentOutOfRangeException(nameof(factor), factor, "factor must be in (0, 1).");
        ArgumentOutOfRangeException.ThrowIfNegative(patience);
        ArgumentOutOfRangeException.ThrowIfNegative(cooldown);
        if (!(threshold >= 0) || !double.IsFinite(threshold)) throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "threshold must be a finite number >= 0.");
        if (!(minLearningRate >= 0)) throw new ArgumentOutOfRangeException(nameof(minLearningRate), minLearningRate, "minLearningRate must be >= 0.");
        if (!(eps >= 0)) throw new ArgumentOutOfRangeException(nameof(eps), eps, "eps must be >= 0.");
        _optimizer = optimizer;
        Maximize = maximize;
        Factor = factor;
        Patience = patience;
        Threshold = threshold;
        Cooldown = cooldown;
        MinLearningRate = minLearningRate;
        Eps = eps;
        Best = maximize ? double.NegativeInfinity : double.PositiveInfinity;
    }

    /// <summary>Whether larger values are better.</summary>
    public bool Maximize { get; }
    /// <summary>Factor of each reduction.</summary>
    public double Factor { get; }
    /// <summary>Evaluations without improvement that are tolerated.</summary>
    public int Patience { get; }
    /// <summary>Relative improvement that counts.</summary>
    public double Threshold { get; }
    /// <summary>Cooldown period after a reduction.</summary>
    public int Cooldown { get; }
    /// <summary>Lowest rate.</summary>
    public double MinLearningRate { get; }
    /// <summary>Smallest applied change.</summary>
    public double Eps { get; }
    /// <summary>Best value so far (-inf or +inf before the first).</summary>
    public double Best { get; private set; }
    /// <summary>Evaluations in a row without improvement (reset by a reduction).</summary>
    public int BadEvaluations { get; private set; }
    /// <summary>Evaluations left in the cooldown.</summary>
    public int CooldownCounter { get; private set; }
    /// <summary>Evaluations seen.</summary>
    public long Evaluations { get; private set; }
    /// <summary>Reductions made.</summary>
    public int Reductions { get; private set; }

    /// <summary>The rate of each parameter group.</summary>
    public IReadOnlyList<double> LearningRates => _optimizer.ParamGroups.Select(g => g.LearningRate).ToArray();

    /// <summary>Takes one evaluation's value; returns true when it lowered the rates.</summary>
    public bool Step(double metric)
    {
        if (double.IsNaN(metric)) throw new ArgumentException("the monitored metric is NaN.", nameof(metric));
        Evaluations++;
        bool better = Maximize ? metric > Best * (1 + Threshold) : metric < Best * (1 - Threshold);
        if (better)
        {
            Best = metric;
            BadEvaluations = 0;
        }
        else BadEvaluations++;
        if (CooldownCounter > 0)
        {
            CooldownCounter--;
            BadEvaluations = 0;
        }
        if (BadEvaluations <= Patience) return false;
        bool lowered = false;
        foreach (var g in _optimizer.ParamGroups)
        {
            double old = g.LearningRate, now = Math.Max(old * Factor, MinLearningRate);
            if (old - now > Eps)
            {
                g.LearningRate = now;
                lowered = true;
            }
        }
        if (lowered) Reductions++;
        CooldownCounter = Cooldown;
        BadEvaluations = 0;
        return lowered;
    }

    /// <summary>The state as float64 [best, bad, cooldown counter, evaluations, reductions, lr of each group].</summary>
    public Tensor GetState() =>
        torch.tensor(new[] { Best, BadEvaluations, CooldownCounter, Evaluations, Reductions }.Concat(LearningRates).ToArray(), dtype: ScalarType.Float64);

    /// <summary>Restores what <see cref="GetState"/> gave (the groups' rates included).</summary>
    /// <exception cref="ArgumentException">The tensor does not fit this optimiser's groups.</exception>
    public void SetState(Tensor state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var v = state.to(ScalarType.Float64).cpu().data<double>().ToArray();
        var groups = _optimizer.ParamGroups.ToList();
        if (v.Length != 5 + groups.Count)
            throw new ArgumentException($"a plateau state of {v.Length} values does not fit an optimiser of {groups.Count} groups (needs {5 + groups.Count}).", nameof(state));
        Best = v[0];
        BadEvaluations = (int)v[1];
        CooldownCounter = (int)v[2];
        Evaluations = (long)v[3];
        Reductions = (int)v[4];
        for (int i = 0; i < groups.Count; i++) groups[i].LearningRate = v[5 + i];
    }
}
