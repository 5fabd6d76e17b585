using DiscreteGrad.Estimators;
using DiscreteGrad.Experiments.Polynomial;
using DiscreteGrad.Experiments.Vae;
using DiscreteGrad.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Bench;

/// <summary>
/// `estimator-speed` command (issue 15, estimator costs): the targets' ratios, before and after the two-class
/// specialisation and the ratio form of GR-MCK, in one interleaved run (process CPU time, one libtorch thread).
/// "before" runs the code that Categorical.Sample ran before: the general estimators (StraightThroughEstimator.General
/// etc., unchanged, which two-class logits used) and, for GR-MCK, <see cref="PreviousGumbelRao"/> (a frozen copy of the
/// previous implementation); "after" runs Categorical.Sample / Bernoulli.Sample as they are now.
/// </summary>
public static class EstimatorSpeedBench
{
    /// <summary>A node: logits (with gradient) and a generator in, the value with the estimator's gradient out.</summary>
    public delegate Tensor Node(Tensor logits, Generator generator);

    private static readonly EstimatorOptions Options = new(Tau: 1.0, Gap: 1.0, GumbelRaoK: 100);

    private static Node After(EstimatorKind kind) => (l, g) => Categorical.Sample(l, kind, Options, generator: g).Value;

    private static Node Before(EstimatorKind kind) => kind switch
    {
        EstimatorKind.StraightThrough => (l, g) => StraightThroughEstimator.General(l, Options.Tau, g, null).Value,
        EstimatorKind.ReinMax => (l, g) => ReinMaxEstimator.General(l, Options.Tau, g, null).Value,
        EstimatorKind.GappedStraightThrough => (l, g) => GappedStraightThroughEstimator.General(l, Options.Tau, Options.Gap, g, null).Value,
        EstimatorKind.GumbelRao => (l, g) => PreviousGumbelRao.Run(l, Options.Tau, Options.GumbelRaoK, g),
        EstimatorKind.StraightThroughGumbel => (l, g) => GumbelSoftmaxEstimator.General(l, Options.Tau, Options.Beta, true, g, null).Value,
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    public static void Run(int rounds, double batchMs)
    {
        Console.WriteLine($"## Estimator speed (issue 15): before / after in one interleaved run ({rounds} rounds of ~{batchMs} ms-of-CPU batches, median CPU ms per step, 1 libtorch thread, tau = 1, GR-MCK K = 100)");
        Console.WriteLine("before: the general estimators (and the previous GR-MCK) on the same inputs; after: Categorical.Sample / Bernoulli.Sample now");
        Console.WriteLine();
        var kinds = new[] { EstimatorKind.StraightThrough, EstimatorKind.ReinMax, EstimatorKind.GappedStraightThrough, EstimatorKind.StraightThroughGumbel,
            EstimatorKind.GumbelRao };
        string Label(EstimatorKind k) => k switch
        {
            EstimatorKind.StraightThrough => "ST",
            EstimatorKind.ReinMax => "ReinMax",
            EstimatorKind.GappedStraightThrough => "GST-1.0",
            EstimatorKind.StraightThroughGumbel => "STGS",
            _ => "GR-MCK100",
        };

        // Two-class nodes alone: 65,536 binary variables, forward and forward + backward, categorical [512, 128, 2] (the
        // polynomial-programming layout, expanded from [128, 2]) and Bernoulli [512, 128].
        var nodeItems = new List<(string, Action)>();
        using var nodes = new NodeWorkload();
        foreach (var k in kinds.Take(4))
        foreach (var (phase, backward) in new[] { ("forward", false), ("forward + backward", true) })
        {
            nodeItems.Add(($"two-class {Label(k)} {phase}, before", () => nodes.Categorical(Before(k), backward)));
            nodeItems.Add(($"two-class {Label(k)} {phase}, after", () => nodes.Categorical(After(k), backward)));
        }
        foreach (var k in new[] { EstimatorKind.StraightThrough, EstimatorKind.ReinMax })
        {
            nodeItems.Add(($"Bernoulli {Label(k)} forward + backward, before", () => nodes.Bernoulli(
                (t, g) => Before(k)(Estimators.Bernoulli.TwoClassLogits(t), g).select(-1, 0), true)));
            nodeItems.Add(($"Bernoulli {Label(k)} forward + backward, after", () => nodes.Bernoulli(
                (t, g) => Estimators.Bernoulli.Sample(t, k, Options, g).Value, true)));
        }
        var nodeTimes = Time(nodeItems, rounds, batchMs);

        // Full training steps.
        var qp = new List<(string, IStepper)>();
        foreach (var k in kinds)
        {
            qp.Add(($"{Label(k)} before", new NodeStepper(new PolynomialStep(), Before(k))));
            qp.Add(($"{Label(k)} after", new NodeStepper(new PolynomialStep(), After(k))));
        }
        var qpTimes = Time(qp.Select(s => (s.Item1, (Action)s.Item2.Step)).ToList(), rounds, batchMs);
        foreach (var s in qp) s.Item2.Dispose();

        var vae = new List<(string, IStepper)>
        {
            ("ST", new NodeStepper(new VaeStep(), After(EstimatorKind.StraightThrough))),
            ("ReinMax", new NodeStepper(new VaeStep(), After(EstimatorKind.ReinMax))),
            ("GST-1.0", new NodeStepper(new VaeStep(), After(EstimatorKind.GappedStraightThrough))),
            ("GR-MCK100 before", new NodeStepper(new VaeStep(), Before(EstimatorKind.GumbelRao))),
            ("GR-MCK100 after", new NodeStepper(new VaeStep(), After(EstimatorKind.GumbelRao))),
        };
        var vaeTimes = Time(vae.Select(s => (s.Item1, (Action)s.Item2.Step)).ToList(), rounds, batchMs);
        foreach (var s in vae) s.Item2.Dispose();

        Print("### Two-class nodes alone (65,536 variables; categorical [512, 128, 2] expanded from [128, 2], Bernoulli [512, 128])", nodeTimes);
        Print("### Polynomial-programming step (theta [128, 2] expanded to [512, 128, 2], loss mean |z - 0.45|^2, Adam)", qpTimes);
        Print("### MNIST-VAE 10x30 step (batch 100, BCE + KL to the uniform prior, Adam; ST, ReinMax and GST are unchanged for K = 10)", vaeTimes);

        double Ms(Dictionary<string, double> t, string label) => t[label];
        Console.WriteLine("### Targets (ratios of median CPU times of this run)");
        Console.WriteLine("| target | before | after | goal |");
        Console.WriteLine("|---|---:|---:|---|");
        Console.WriteLine($"| QP step ReinMax / ST | {Ms(qpTimes, "ReinMax before") / Ms(qpTimes, "ST before"):F2} | {Ms(qpTimes, "ReinMax after") / Ms(qpTimes, "ST after"):F2} | <= 1.10 |");
        Console.WriteLine($"| QP step GST-1.0 / ST | {Ms(qpTimes, "GST-1.0 before") / Ms(qpTimes, "ST before"):F2} | {Ms(qpTimes, "GST-1.0 after") / Ms(qpTimes, "ST after"):F2} | <= 1.10 |");
        Console.WriteLine($"| QP step STGS / ST | {Ms(qpTimes, "STGS before") / Ms(qpTimes, "ST before"):F2} | {Ms(qpTimes, "STGS after") / Ms(qpTimes, "ST after"):F2} | |");
        foreach (var k in kinds.Take(4))
        foreach (var phase in new[] { "forward", "forward + backward" })
            Console.WriteLine($"| two-class {Label(k)} {phase}: speed-up before / after | | {Ms(nodeTimes, $"two-class {Label(k)} {phase}, before") / Ms(nodeTimes, $"two-class {Label(k)} {phase}, after"):F1}x | >= 3x |");
        foreach (var k in new[] { EstimatorKind.StraightThrough, EstimatorKind.ReinMax })
            Console.WriteLine($"| Bernoulli {Label(k)} forward + backward: speed-up before / after | | {Ms(nodeTimes, $"Bernoulli {Label(k)} forward + backward, before") / Ms(nodeTimes, $"Bernoulli {Label(k)} forward + backward, after"):F1}x | >= 3x |");
        Console.WriteLine($"| QP step ST: speed-up before / after | | {Ms(qpTimes, "ST before") / Ms(qpTimes, "ST after"):F1}x | |");
        Console.WriteLine($"| VAE step GR-MCK100 / ST | {Ms(vaeTimes, "GR-MCK100 before") / Ms(vaeTimes, "ST"):F2} | {Ms(vaeTimes, "GR-MCK100 after") / Ms(vaeTimes, "ST"):F2} | <= 3 |");
        Console.WriteLine($"| QP step GR-MCK100 / ST (same version) | {Ms(qpTimes, "GR-MCK100 before") / Ms(qpTimes, "ST before"):F1} | {Ms(qpTimes, "GR-MCK100 after") / Ms(qpTimes, "ST after"):F1} | <= 10 |");
        Console.WriteLine($"| QP step GR-MCK100 after / ST before | | {Ms(qpTimes, "GR-MCK100 after") / Ms(qpTimes, "ST before"):F1} | |");
        Console.WriteLine();
    }

    private static Dictionary<string, double> Time(List<(string, Action)> items, int rounds, double batchMs)
        => EfficiencyBench.TimeInterleaved(items, rounds, batchMs).ToDictionary(t => t.Label, t => t.CpuMs);

    private static void Print(string title, Dictionary<string, double> times)
    {
        Console.WriteLine(title);
        Console.WriteLine("| configuration | CPU ms |");
        Console.WriteLine("|---|---:|");
        foreach (var (label, ms) in times) Console.WriteLine($"| {label} | {ms:F3} |");
        Console.WriteLine();
    }

    /// <summary>theta [128, 2] with gradient, expanded to [512, 128, 2] per call, and a fixed upstream weight.</summary>
    private sealed class NodeWorkload : IDisposable
    {
        private readonly Tensor _theta, _thetaBernoulli, _w, _wBernoulli;
        private readonly Generator _gen = new(3);

        public NodeWorkload()
        {
            var init = new Generator(2);
            _theta = (torch.randn(128, 2, generator: init) * 0.5).requires_grad_(true);
            _thetaBernoulli = (torch.randn(512, 128, generator: init) * 0.5).requires_grad_(true);
            _w = torch.randn(512, 128, 2, generator: init);
            _wBernoulli = torch.randn(512, 128, generator: init);
        }

        public void Categorical(Node node, bool backward)
        {
            using var scope = torch.NewDisposeScope();
            using var grad = torch.enable_grad(backward);
            var v = node(_theta.unsqueeze(0).expand(512, 128, 2), _gen);
            if (backward) (v * _w).sum().backward();
        }

        public void Bernoulli(Node node, bool backward)
        {
            using var scope = torch.NewDisposeScope();
            var v = node(_thetaBernoulli, _gen);
            if (backward) (v * _wBernoulli).sum().backward();
        }

        public void Dispose() { _theta.Dispose(); _thetaBernoulli.Dispose(); _w.Dispose(); _wBernoulli.Dispose(); _gen.Dispose(); }
    }

    /// <summary>A model whose loss goes through one stochastic node.</summary>
    private interface IModelStep : IDisposable
    {
        IEnumerable<TorchSharp.Modules.Parameter> Parameters { get; }
        Tensor Loss(Node node, Generator generator);
    }

    /// <summary>Polynomial programming as DiscreteGrad.Experiments.Polynomial runs it (see <see cref="PolynomialStepper"/>).</summary>
    private sealed class PolynomialStep : IModelStep
    {
        private readonly TorchSharp.Modules.Parameter _theta;

        public PolynomialStep()
        {
            using var scope = torch.NewDisposeScope();
            _theta = new TorchSharp.Modules.Parameter(torch.rand(new long[] { 128, 2 }, generator: new Generator(1)) * 0.02 - 0.01);
            _theta.DetachFromDisposeScope();
        }

        public IEnumerable<TorchSharp.Modules.Parameter> Parameters => new[] { _theta };

        public Tensor Loss(Node node, Generator generator)
            => PolynomialObjective.Loss(node(_theta.unsqueeze(0).expand(512, 128, 2), generator).select(-1, 0), 0.45, 2.0);

        public void Dispose() => _theta.Dispose();
    }

    /// <summary>The categorical MNIST-VAE 10x30 step of <see cref="VaeObjective"/> for a pathwise estimator, on fixed U(0, 1) pixels.</summary>
    private sealed class VaeStep : IModelStep
    {
        private readonly CategoricalVae _vae;
        private readonly Tensor _x;

        public VaeStep()
        {
            torch.manual_seed(1);
            _vae = new CategoricalVae(10, 30);
            _x = torch.rand(new long[] { 100, CategoricalVae.Pixels }, generator: new Generator(1));
        }

        public IEnumerable<TorchSharp.Modules.Parameter> Parameters => _vae.parameters();

        public Tensor Loss(Node node, Generator generator)
        {
            var theta = _vae.EncoderLogits(_x);
            return (_vae.Bce(node(theta, generator), _x) + CategoricalVae.KlToUniform(theta)).mean();
        }

        public void Dispose() { _vae.Dispose(); _x.Dispose(); }
    }

    /// <summary>One training step (forward, backward, Adam 1e-3) of a model with a node.</summary>
    private sealed class NodeStepper : IStepper
    {
        private readonly IModelStep _model;
        private readonly Node _node;
        private readonly torch.optim.Optimizer _opt;
        private readonly Generator _gen = new(1);

        public NodeStepper(IModelStep model, Node node)
        {
            _model = model;
            _node = node;
            _opt = torch.optim.Adam(model.Parameters, 1e-3);
        }

        public void Step()
        {
            using var scope = torch.NewDisposeScope();
            _opt.zero_grad();
            _model.Loss(_node, _gen).backward();
            _opt.step();
        }

        public void Dispose() { _opt.Dispose(); _model.Dispose(); _gen.Dispose(); }
    }
}

/// <summary>
/// Frozen copy (for the "before" column only) of GR-MCK as the library computed it before issue 15: conditional Gumbel
/// logits gk [..., C, K] from Exponential(1) draws (exponential_), p = mean_k softmax((theta + gk) / tau) with a chunked,
/// recomputing backward, out = D + p - sg(p).
/// </summary>
internal static class PreviousGumbelRao
{
    private const long ChunkElements = 1L << 22;

    public static Tensor Run(Tensor logits, double tau, int k, Generator generator)
    {
        using var scope = torch.NewDisposeScope();
        Guard.CategoricalLogits(logits);
        var d = OneHot.Sample(logits.detach(), generator);
        var gk = ConditionalGumbels(logits.detach(), d, k, generator);
        var p = PreviousGumbelRaoFunction.apply(logits, gk, tau)[0];
        return scope.MoveToOuter(d + (p - p.detach()));
    }

    private static Tensor ConditionalGumbels(Tensor t, Tensor d, int k, Generator generator)
    {
        using var _ = torch.no_grad();
        var gk = torch.empty(t.shape.Append(k).ToArray(), dtype: t.dtype, device: t.device);
        var fi = torch.finfo(t.dtype);
        var logZ = t.logsumexp(-1, keepdim: true).unsqueeze(-1);
        var tu = t.unsqueeze(-1);
        var du = d.unsqueeze(-1);
        long step = ChunkSize(t, k);
        for (long a = 0; a < k; a += step)
        {
            using var cs = torch.NewDisposeScope();
            long b = Math.Min(k, a + step);
            var logE = torch.empty(t.shape.Append(b - a).ToArray(), dtype: t.dtype, device: t.device)
                .exponential_(1.0, generator).clamp_(fi.tiny, fi.max).log_();
            var logED = (logE * du).sum(-2, keepdim: true);
            var top = logZ - logED;
            var other = torch.logaddexp(logE - tu, logED - logZ).neg_();
            gk.narrow(-1, a, b - a).copy_(torch.where(du == 1, top, other) - tu);
        }
        return gk;
    }

    internal static long ChunkSize(Tensor t, long k) => Math.Max(1, Math.Min(k, ChunkElements / Math.Max(1, t.numel())));
}

/// <summary>The previous GR-MCK autograd function (see <see cref="PreviousGumbelRao"/>).</summary>
internal sealed class PreviousGumbelRaoFunction : torch.autograd.MultiTensorFunction<PreviousGumbelRaoFunction>
{
    public override string Name => "PreviousGumbelRao";

    public override List<Tensor> forward(torch.autograd.AutogradContext ctx, params object[] vars)
    {
        var logits = (Tensor)vars[0];
        var gk = (Tensor)vars[1];
        var tau = (double)vars[2];
        ctx.save_for_backward(new List<Tensor> { logits, gk });
        ctx.save_data("tau", tau);
        ctx.set_materialize_grads(false);
        var p = torch.zeros_like(logits);
        ForEachChunk(logits, gk, tau, s => p.add_(s.sum(-1)));
        return new List<Tensor> { p.div_(gk.shape[^1]) };
    }

    public override List<Tensor> backward(torch.autograd.AutogradContext ctx, List<Tensor> gradOutputs)
    {
        if (gradOutputs.Count == 0 || gradOutputs[0] is null || gradOutputs[0].IsInvalid) return new List<Tensor> { null!, null!, null! };
        var saved = ctx.get_saved_variables();
        var tau = (double)ctx.get_data("tau");
        var v = gradOutputs[0].unsqueeze(-1);
        var grad = torch.zeros_like(saved[0]);
        ForEachChunk(saved[0], saved[1], tau, s =>
        {
            var sv = s * v;
            grad.add_((sv - s * sv.sum(-2, keepdim: true)).sum(-1));
        });
        grad.div_(saved[1].shape[^1] * tau);
        return new List<Tensor> { grad, null!, null! };
    }

    private static void ForEachChunk(Tensor logits, Tensor gk, double tau, Action<Tensor> use)
    {
        using var outer = torch.NewDisposeScope();
        long k = gk.shape[^1];
        long step = PreviousGumbelRao.ChunkSize(logits, k);
        var tu = logits.unsqueeze(-1);
        for (long a = 0; a < k; a += step)
        {
            using var cs = torch.NewDisposeScope();
            var z = tu + gk.narrow(-1, a, Math.Min(k, a + step) - a);
            if (tau != 1.0) z = z / tau;
            use(z.softmax(-2));
        }
    }
}
