using DiscreteGrad.Estimators;
using DiscreteGrad.Imle;
using DiscreteGrad.Layers;
using DiscreteGrad.Solvers;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad;

// Lower-case names on purpose: the entry points follow TorchSharp's torch.nn / torch.nn.functional conventions.
#pragma warning disable CS8981

/// <summary>
/// The library's entry points, laid out as TorchSharp lays out <c>torch.nn</c>: module factories here
/// (<c>discrete.CategoricalNode(...)</c>, <c>discrete.ImleLayer(...)</c>, ...) returning the module classes, which live in
/// their namespaces (<see cref="Layers"/>, <see cref="Imle"/>) like TorchSharp's <c>TorchSharp.Modules</c>, and the
/// estimators as functions in <see cref="functional"/>, in the style of <c>torch.nn.functional</c>. Write
/// <c>using static DiscreteGrad.discrete;</c> to call them unqualified, or <c>discrete.functional.reinmax(...)</c>.
/// See docs/guide/conventions.md.
/// </summary>
public static partial class discrete
{
    /// <summary>A categorical node with a built-in estimator (see <see cref="Layers.CategoricalNode"/>).</summary>
    /// <param name="kind">Estimator used in training mode.</param>
    /// <param name="options">tau, beta, gap, GR-MCK K.</param>
    /// <param name="evalSampling">Eval-mode behaviour: argmax (default) or a hard sample.</param>
    /// <param name="dim">Axis of the categories (default -1, the last).</param>
    /// <param name="generator">Random source of every draw of the node.</param>
    public static CategoricalNode CategoricalNode(EstimatorKind kind, EstimatorOptions? options = null,
        EvalSampling evalSampling = EvalSampling.Argmax, long dim = -1, Generator? generator = null)
        => new(kind, options, evalSampling, dim, generator);

    /// <summary>A categorical node with any estimator, e.g. one of your own (see <see cref="ICategoricalEstimator"/>).</summary>
    /// <param name="estimator">Estimator used in training mode.</param>
    /// <param name="options">tau, beta, gap, GR-MCK K passed to the estimator.</param>
    /// <param name="evalSampling">Eval-mode behaviour: argmax (default) or a hard sample.</param>
    /// <param name="dim">Axis of the categories (default -1, the last).</param>
    /// <param name="generator">Random source of every draw of the node.</param>
    public static CategoricalNode CategoricalNode(ICategoricalEstimator estimator, EstimatorOptions? options = null,
        EvalSampling evalSampling = EvalSampling.Argmax, long dim = -1, Generator? generator = null)
        => new(estimator, options, evalSampling, dim, generator);

    /// <summary>A Bernoulli node with a built-in estimator (see <see cref="Layers.BernoulliNode"/>; elementwise, no dim).</summary>
    /// <param name="kind">Estimator used in training mode (on the two-class logits [theta, 0]).</param>
    /// <param name="options">tau, beta, gap, GR-MCK K.</param>
    /// <param name="evalSampling">Eval-mode behaviour: 1[theta &gt; 0] (default) or a hard sample.</param>
    /// <param name="generator">Random source of every draw of the node.</param>
    public static BernoulliNode BernoulliNode(EstimatorKind kind, EstimatorOptions? options = null,
        EvalSampling evalSampling = EvalSampling.Argmax, Generator? generator = null)
        => new(kind, options, evalSampling, generator);

    /// <summary>A Bernoulli node with any estimator, applied to the two-class logits [theta, 0].</summary>
    /// <param name="estimator">Estimator used in training mode.</param>
    /// <param name="options">tau, beta, gap, GR-MCK K.</param>
    /// <param name="evalSampling">Eval-mode behaviour: 1[theta &gt; 0] (default) or a hard sample.</param>
    /// <param name="generator">Random source of every draw of the node.</param>
    public static BernoulliNode BernoulliNode(ICategoricalEstimator estimator, EstimatorOptions? options = null,
        EvalSampling evalSampling = EvalSampling.Argmax, Generator? generator = null)
        => new(estimator, options, evalSampling, generator);

    /// <summary>
    /// The usual discrete-continuous component of the DCCG paper (Friede and Niepert 2021, eq. 2): g = Linear(inputSize, K),
    /// a categorical node, h = z^T W with W [K, outputSize] (a bias-free Linear). DropRes needs outputSize == inputSize.
    /// </summary>
    /// <param name="inputSize">Width of u.</param>
    /// <param name="categories">K &gt;= 2.</param>
    /// <param name="outputSize">Width of v.</param>
    /// <param name="kind">Estimator of the node.</param>
    /// <param name="options">tau, beta, gap, GR-MCK K.</param>
    /// <param name="dropRes">Residual mode.</param>
    /// <param name="generator">Random source of the node and of the DropRes coins.</param>
    /// <param name="dtype">dtype of g and h.</param>
    public static DiscreteContinuousComponent DiscreteContinuousComponent(long inputSize, long categories, long outputSize, EstimatorKind kind,
        EstimatorOptions? options = null, DropResMode dropRes = DropResMode.None, Generator? generator = null,
        ScalarType dtype = ScalarType.Float32)
    {
        Guard.AtLeast(inputSize, 1, nameof(inputSize));
        Guard.AtLeast(categories, 2, nameof(categories));
        Guard.AtLeast(outputSize, 1, nameof(outputSize));
        if (dropRes != DropResMode.None && outputSize != inputSize)
            throw new ArgumentException($"DropRes adds u to h(z): outputSize must equal inputSize = {inputSize} (got {outputSize}).", nameof(outputSize));
        return new Layers.DiscreteContinuousComponent(nn.Linear(inputSize, categories, dtype: dtype),
            new Layers.CategoricalNode(kind, options, EvalSampling.Argmax, generator: generator),
            nn.Linear(categories, outputSize, hasBias: false, dtype: dtype), dropRes, generator);
    }

    /// <summary>A discrete-continuous component from its parts (see <see cref="Layers.DiscreteContinuousComponent"/>).</summary>
    /// <param name="encoder">g: u [B, ...] to logits [B, K].</param>
    /// <param name="node">The categorical node.</param>
    /// <param name="decoder">h: z [B, K] to v.</param>
    /// <param name="dropRes">Residual mode.</param>
    /// <param name="generator">Random source of the DropRes coins (the node has its own).</param>
    public static DiscreteContinuousComponent DiscreteContinuousComponent(nn.Module<Tensor, Tensor> encoder, CategoricalNode node,
        nn.Module<Tensor, Tensor> decoder, DropResMode dropRes = DropResMode.None, Generator? generator = null)
        => new(encoder, node, decoder, dropRes, generator);

    /// <summary>I-MLE / AIMLE around a MAP solver (see <see cref="Imle.ImleLayer"/>).</summary>
    /// <param name="solver">The batched MAP solver.</param>
    /// <param name="options">Noise, temperatures, samples, target distribution, difference, direction, layout.</param>
    /// <param name="generator">Random source of the noise.</param>
    public static ImleLayer ImleLayer(IMapSolver solver, ImleOptions? options = null, Generator? generator = null)
        => new(solver, options, generator);

    /// <summary>
    /// SIMPLE (Ahmed, Zeng, Niepert and Van den Broeck, ICLR 2023): exact k-subset samples of p(z) ∝ exp(&lt;theta, z&gt;) over
    /// theta's last axis, with the gradient of the exact marginals (see <see cref="Imle.SimpleKSubsetLayer"/>).
    /// </summary>
    /// <param name="k">Subset size k &gt;= 1.</param>
    /// <param name="samples">Samples S &gt;= 1 per instance.</param>
    /// <param name="layout">Output layout of the samples.</param>
    /// <param name="generator">Random source of the samples.</param>
    public static SimpleKSubsetLayer SimpleKSubsetLayer(int k, int samples = 1, SampleLayout layout = SampleLayout.Stacked, Generator? generator = null)
        => new(k, samples, layout, generator);

    /// <summary>The straight-through estimator around a MAP solver (see <see cref="Imle.StraightThroughMapLayer"/>).</summary>
    /// <param name="solver">The batched MAP solver.</param>
    /// <param name="noise">Noise distribution (null: none).</param>
    /// <param name="temperature">Noise temperature T &gt;= 0.</param>
    /// <param name="samples">Samples S &gt;= 1 per input.</param>
    /// <param name="layout">Output layout of the samples.</param>
    /// <param name="minimise">True for a cost-minimising solver.</param>
    /// <param name="generator">Random source of the noise.</param>
    public static StraightThroughMapLayer StraightThroughMapLayer(IMapSolver solver, ImleNoise? noise = null, double temperature = 1.0,
        int samples = 1, SampleLayout layout = SampleLayout.Stacked, bool minimise = false, Generator? generator = null)
        => new(solver, noise, temperature, samples, layout, minimise, generator);

    /// <summary>The score-function estimator around a MAP solver (see <see cref="Imle.ScoreFunctionMap"/>).</summary>
    /// <param name="solver">The batched MAP solver.</param>
    /// <param name="noise">Noise distribution (not None).</param>
    /// <param name="temperature">Noise temperature T &gt; 0.</param>
    /// <param name="samples">Samples S &gt;= 2 per input.</param>
    /// <param name="minimise">True for a cost-minimising solver.</param>
    /// <param name="generator">Random source of the noise.</param>
    public static ScoreFunctionMap ScoreFunctionMap(IMapSolver solver, ImleNoise noise, double temperature = 1.0, int samples = 2,
        bool minimise = false, Generator? generator = null)
        => new(solver, noise, temperature, samples, minimise, generator);

    /// <summary>
    /// The estimators as plain functions of the logits, in the style of <c>torch.nn.functional.gumbel_softmax</c> and the
    /// <c>reinmax</c> package: PyTorch's arguments in PyTorch's order first (logits, tau, hard, dim), this library's extras
    /// after them (beta, gap, k, then the generator and pinned tensors). Each returns the tensor to use downstream;
    /// <see cref="Categorical.Sample(Tensor, EstimatorKind, EstimatorOptions?, long, Generator?, Tensor?, Tensor?)"/> returns the
    /// whole sample record (hard sample, probabilities, log-probabilities, index).
    /// <para><c>dim</c> is the axis of the categories (default -1); another axis is moved last, the estimator runs, and the
    /// result is moved back, so every function equals its dim = -1 form on the transposed logits, gradients included.</para>
    /// </summary>
    public static class functional
    {
        /// <summary>
        /// Gumbel-softmax with temperature tau and Gumbel scale beta: softmax((theta + beta g) / tau), g ~ Gumbel(0, 1)
        /// (Jang, Gu and Poole 2017; Maddison, Mnih and Teh 2017; beta as in Friede and Niepert 2021). With
        /// <paramref name="hard"/> = true, the straight-through variant (STGS): forward one_hot(argmax(theta + beta g)),
        /// gradient of the relaxation.
        /// </summary>
        /// <param name="logits">theta [..., K, ...].</param>
        /// <param name="tau">Temperature, &gt; 0.</param>
        /// <param name="hard">Straight-through (one-hot forward).</param>
        /// <param name="dim">Axis of the categories.</param>
        /// <param name="beta">Gumbel scale, &gt;= 0 (0: plain softmax_tau, as at the start of TempMatch).</param>
        /// <param name="generator">Random source.</param>
        /// <param name="noise">Pinned standard Gumbel(0, 1) noise of the logits' shape (scaled by beta).</param>
        public static Tensor gumbel_softmax(Tensor logits, double tau = 1.0, bool hard = false, long dim = -1, double beta = 1.0,
            Generator? generator = null, Tensor? noise = null)
            => Release(Categorical.OnCategoryAxis(logits, dim, null, noise, 0,
                (l, _, n) => GumbelSoftmaxEstimator.Run(l, tau, beta, hard, generator, n)));

        /// <summary>
        /// ReinMax (Liu, Zhao, Ghaffari, Ranjan, Ramalingam and Bengio, "Bridging Discrete and Backpropagation:
        /// Straight-Through and Beyond", NeurIPS 2023, Algorithm 2). Returns (y_hard, y_soft) like
        /// <c>reinmax.reinmax(logits, tau)</c>: y_hard is the one-hot sample D ~ Cat(softmax(theta)) with the ReinMax gradient,
        /// y_soft = softmax(theta), differentiable (its gradient enters the same closed form).
        /// </summary>
        /// <param name="logits">theta [..., K, ...].</param>
        /// <param name="tau">Temperature, &gt; 0.</param>
        /// <param name="dim">Axis of the categories.</param>
        /// <param name="generator">Random source.</param>
        /// <param name="sample">Pinned one-hot sample D of the logits' shape.</param>
        public static (Tensor y_hard, Tensor y_soft) reinmax(Tensor logits, double tau = 1.0, long dim = -1, Generator? generator = null,
            Tensor? sample = null)
        {
            var s = Categorical.OnCategoryAxis(logits, dim, sample, null, 0, (l, d, _) => ReinMaxEstimator.Run(l, tau, generator, d));
            var soft = s.Probs;
            s.Hard.Dispose();
            return (s.Value, soft);
        }

        /// <summary>Straight-through (Bengio, Léonard and Courville 2013): D ~ Cat(softmax(theta)) forward, gradient of softmax(theta / tau).</summary>
        /// <param name="logits">theta [..., K, ...].</param>
        /// <param name="tau">Temperature of the gradient path, &gt; 0.</param>
        /// <param name="dim">Axis of the categories.</param>
        /// <param name="generator">Random source.</param>
        /// <param name="sample">Pinned one-hot sample D of the logits' shape.</param>
        public static Tensor straight_through(Tensor logits, double tau = 1.0, long dim = -1, Generator? generator = null, Tensor? sample = null)
            => Release(Categorical.OnCategoryAxis(logits, dim, sample, null, 0, (l, d, _) => StraightThroughEstimator.Run(l, tau, generator, d)));

        /// <summary>Gapped straight-through (GST, Fan, Zhang, Yang, Chen and Zhou, ICML 2022) with the given gap (GST-1.0: gap = 1).</summary>
        /// <param name="logits">theta [..., K, ...].</param>
        /// <param name="tau">Temperature, &gt; 0.</param>
        /// <param name="gap">Gap, &gt;= 0.</param>
        /// <param name="dim">Axis of the categories.</param>
        /// <param name="generator">Random source.</param>
        /// <param name="sample">Pinned one-hot sample D of the logits' shape.</param>
        public static Tensor gapped_straight_through(Tensor logits, double tau = 1.0, double gap = 1.0, long dim = -1,
            Generator? generator = null, Tensor? sample = null)
            => Release(Categorical.OnCategoryAxis(logits, dim, sample, null, 0,
                (l, d, _) => GappedStraightThroughEstimator.Run(l, tau, gap, generator, d)));

        /// <summary>
        /// GR-MCK (Paulus, Maddison and Krause, "Rao-Blackwellizing the Straight-Through Gumbel-Softmax Gradient
        /// Estimator", ICLR 2021): STGS averaged over <paramref name="k"/> conditional Gumbel draws given the sample.
        /// </summary>
        /// <param name="logits">theta [..., K, ...].</param>
        /// <param name="tau">Temperature, &gt; 0.</param>
        /// <param name="k">Number of conditional Gumbel draws, &gt;= 1 (100 in the reference).</param>
        /// <param name="dim">Axis of the categories.</param>
        /// <param name="generator">Random source.</param>
        /// <param name="sample">Pinned one-hot sample D of the logits' shape.</param>
        /// <param name="noise">Pinned Exponential(1) draws: the logits' shape plus a trailing axis of <paramref name="k"/>.</param>
        public static Tensor gumbel_rao(Tensor logits, double tau = 1.0, int k = 100, long dim = -1, Generator? generator = null,
            Tensor? sample = null, Tensor? noise = null)
            => Release(Categorical.OnCategoryAxis(logits, dim, sample, noise, Math.Max(k, 1),
                (l, d, n) => GumbelRaoEstimator.Run(l, tau, k, generator, d, n)));

        /// <summary>
        /// Decoupled straight-through Gumbel-softmax (Shah, Yan, Mozer and Liu, arXiv:2410.13331, 2024): one Gumbel draw g,
        /// scores s = theta + beta g; the forward value is one_hot(argmax s) (<paramref name="hard"/>, STGS's forward) or
        /// softmax(s / tau_forward), and the gradient is the Gumbel-softmax gradient at tau_backward, J(softmax(s / tau_b))^T v / tau_b.
        /// </summary>
        /// <param name="logits">theta [..., K, ...].</param>
        /// <param name="tau_forward">Forward temperature tau_f, &gt; 0 (only the soft forward depends on it).</param>
        /// <param name="tau_backward">Backward temperature tau_b, &gt; 0.</param>
        /// <param name="hard">One-hot forward (default) or soft forward at tau_forward.</param>
        /// <param name="dim">Axis of the categories.</param>
        /// <param name="beta">Gumbel scale, &gt;= 0.</param>
        /// <param name="generator">Random source.</param>
        /// <param name="noise">Pinned standard Gumbel(0, 1) noise of the logits' shape (scaled by beta).</param>
        public static Tensor decoupled_gumbel_softmax(Tensor logits, double tau_forward = 1.0, double tau_backward = 1.0, bool hard = true,
            long dim = -1, double beta = 1.0, Generator? generator = null, Tensor? noise = null)
            => Release(Categorical.OnCategoryAxis(logits, dim, null, noise, 0,
                (l, _, n) => DecoupledGumbelSoftmaxEstimator.Run(l, tau_forward, tau_backward, beta, hard, generator, n)));

        /// <summary>
        /// ZGR (Shekhovtsov 2023, "Cold Rao-Blackwellized Straight-Through Gumbel-Softmax Gradient Estimator"): the
        /// zero-temperature limit of GR-MCK, D ~ Cat(softmax(theta)) forward, gradient the average of the ST (tau = 1) and
        /// DARN Jacobians, 1/2 J(p)^T v + 1/2 (D - p)^T v grad log p_x. No temperature.
        /// </summary>
        /// <param name="logits">theta [..., K, ...].</param>
        /// <param name="dim">Axis of the categories.</param>
        /// <param name="generator">Random source.</param>
        /// <param name="sample">Pinned one-hot sample D of the logits' shape.</param>
        public static Tensor zgr(Tensor logits, long dim = -1, Generator? generator = null, Tensor? sample = null)
            => Release(Categorical.OnCategoryAxis(logits, dim, sample, null, 0, (l, d, _) => ZgrEstimator.Run(l, generator, d)));

        /// <summary>
        /// SIMPLE (Ahmed, Zeng, Niepert and Van den Broeck, "SIMPLE: A Gradient Estimator for k-Subset Sampling", ICLR 2023)
        /// over the last axis of theta [..., n]: an exact sample z of p(z) ∝ exp(&lt;theta, z&gt;) with |z| = k, returned as
        /// z + mu - sg(mu) with mu the exact marginals, so the gradient is Cov_p(z) dL/dz (one sample; for S samples use
        /// <see cref="discrete.SimpleKSubsetLayer"/>).
        /// </summary>
        /// <param name="theta">Logits [..., n].</param>
        /// <param name="k">Subset size, in [1, n].</param>
        /// <param name="generator">Random source.</param>
        /// <param name="sample">Pinned sample of theta's shape, 0/1 with exactly k ones along the last axis.</param>
        public static Tensor simple_k_subset(Tensor theta, int k, Generator? generator = null, Tensor? sample = null)
        {
            KSubsetDistribution.Check(theta, k);
            if (theta.dim() >= 2) return Imle.SimpleKSubsetLayer.Run(theta, k, 1, SampleLayout.Stacked, generator, sample);
            using var scope = torch.NewDisposeScope();
            var z = Imle.SimpleKSubsetLayer.Run(theta.unsqueeze(0), k, 1, SampleLayout.Stacked, generator, sample?.unsqueeze(0));
            return scope.MoveToOuter(z.squeeze(0));
        }

        private static Tensor Release(CategoricalSample s)
        {
            s.ReleaseAllButValue();
            return s.Value;
        }
    }
}
