using System.Globalization;
using DiscreteGrad.Experiments.Runner;
using DiscreteGrad.Imle;
using DiscreteGrad.Relaxations;
using DiscreteGrad.Schedules;
using DiscreteGrad.Solvers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscreteGrad.Experiments.Nri;

/// <summary>The trainable network of one NRI run: encoder, decoder and, for I-MLE and AIMLE, the perturb-and-MAP layer
/// (submodule <c>imle</c>, so that AIMLE's beta is in the checkpoints).</summary>
public sealed class NriNetwork : nn.Module
{
    private readonly NriEncoder encoder;
    private readonly NriDecoder decoder;
    private readonly ImleLayer? imle;

    /// <summary>Builds the networks (initialised from TorchSharp's global generator).</summary>
    public NriNetwork(CompleteGraph graph, NriConfig config, ImleLayer? layer) : base(nameof(NriNetwork))
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(config);
        encoder = new NriEncoder(graph, (long)config.Timesteps * 2, config.Hidden);
        decoder = new NriDecoder(graph, 2, config.Hidden);
        imle = layer;
        RegisterComponents();
    }

    /// <summary>The encoder.</summary>
    public NriEncoder Encoder => encoder;
    /// <summary>The decoder.</summary>
    public NriDecoder Decoder => decoder;
    /// <summary>The perturb-and-MAP layer (null for SST).</summary>
    public ImleLayer? Layer => imle;
}

/// <summary>The terms of the objective per trajectory.</summary>
/// <param name="Nll">sum over vertices, frames and coordinates of (x_hat - x)^2 / (2 sigma^2), divided by n; [B].</param>
/// <param name="Kl">KL(Gumbel(theta, 1) || Gumbel(0, 1)) summed over the n (n - 1) directed edges, divided by n; [B].</param>
public sealed record NriTerms(Tensor Nll, Tensor Kl);

/// <summary>
/// One NRI run on graph layouts (Kipf et al. 2018's MLP encoder and decoder, as used by Paulus et al. 2020 and Minervini
/// et al. 2023). Per step: directed logits of the encoder, symmetrised per undirected edge, theta_e = (logit_(i,j) +
/// logit_(j,i)) / 2; a spanning tree z through the method's estimator (SST or I-MLE / AIMLE around Kruskal), copied to
/// both directions; the decoder rolls out P steps (teacher forcing every P frames) with edge types (1 - z, z); loss =
/// mean over the batch of NLL + KL (<see cref="Terms"/>), so ELBO = -(NLL + KL) per trajectory, as the references.
/// <para>The KL term is the references' choice for a tree-valued latent: the KL of the perturbed edge weights
/// U_e = theta_e + G_e, Gumbel(theta_e, 1), to the prior Gumbel(0, 1), sum_e (theta_e + exp(-theta_e) - 1), summed over the
/// n (n - 1) directed entries (each undirected edge twice) and divided by n; the tree is a function of U, so this bounds
/// the KL of the trees. It is used for every method.</para>
/// <para>Evaluation (encoder and decoder in eval mode, one-step predictions from every frame, as the references): the
/// tree is either a Gumbel-perturbed sample Kruskal(theta + G) (the SST reference's evaluation and its edge metric) or the
/// MAP tree Kruskal(theta) (the AIMLE reference's evaluation of I-MLE and AIMLE, noise temperature 0); both ELBOs and both
/// edge precisions are recorded. Precision = |true edges in the inferred tree| / (n - 1); both trees have n - 1 edges,
/// so it equals the recall.</para>
/// </summary>
public sealed class NriTask : ITrainingTask, IDisposable
{
    /// <summary>Trajectories per evaluation batch.</summary>
    public const int EvalBatch = 100;

    private readonly NriConfig _config;
    private readonly GraphLayoutData _train, _valid, _test;
    private readonly bool _ownsData;
    private readonly CompleteGraph _graph;
    private readonly NriNetwork _network;
    private readonly Adam _adam;
    private readonly Generator _noise;
    private readonly EpochBatches _batches;
    private readonly SpanningTreeSst? _sst;
    private readonly AdaptiveImleTarget? _adaptive;
    private readonly MaximumSpanningTreeSolver _kruskal = new(SpanningTreeLayout.EdgeList);
    private readonly Tensor _directedToUndirected;

    /// <summary>Builds the run on the given data (normalised by the caller); <paramref name="ownsData"/>: <see cref="Dispose"/> disposes it.</summary>
    public NriTask(NriConfig config, GraphLayoutData train, GraphLayoutData valid, GraphLayoutData test, bool ownsData = false)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(valid);
        ArgumentNullException.ThrowIfNull(test);
        config.Validate();
        foreach (var d in new[] { train, valid, test })
            if (d.Vertices != config.Vertices || d.Timesteps != config.Timesteps || d.Dims != 2)
                throw new ArgumentException($"data must have {config.Vertices} vertices, {config.Timesteps} frames and 2 dimensions " +
                                            $"(got {d.Vertices}, {d.Timesteps}, {d.Dims}).", nameof(train));
        if (valid.Count < config.ValidExamples) throw new ArgumentException($"valid has {valid.Count} trajectories, fewer than --valid-examples {config.ValidExamples}.", nameof(valid));
        if (test.Count < config.TestExamples) throw new ArgumentException($"test has {test.Count} trajectories, fewer than --test-examples {config.TestExamples}.", nameof(test));
        _config = config;
        _train = train;
        _valid = valid;
        _test = test;
        _ownsData = ownsData;
        _graph = new CompleteGraph(config.Vertices);
        _directedToUndirected = torch.tensor(_graph.DirectedToUndirected).DetachFromDisposeScope();
        _noise = new Generator((ulong)config.Seed);
        ImleLayer? layer = null;
        if (config.Method.IsPerturbAndMap())
        {
            _adaptive = config.Method.IsAdaptive()
                ? new AdaptiveImleTarget(config.AimleTargetNonZeros, config.AimleStep, config.AimleInitialBeta, initialNonZeroRate: config.AimleTargetNonZeros)
                : null;
            layer = new ImleLayer(new MaximumSpanningTreeSolver(SpanningTreeLayout.EdgeList), new ImleOptions
            {
                Noise = ImleNoise.SumOfGamma(config.EffectiveNoiseK, config.NoiseTerms),
                InputTemperature = config.NoiseTemperature,
                TargetTemperature = config.NoiseTemperature,
                Samples = 1,
                Target = (ImleTargetDistribution?)_adaptive ?? ImleTargetDistribution.Fixed(config.Lambda),
                Difference = config.Method.IsCentral() ? FiniteDifference.Central : FiniteDifference.Forward,
                Layout = SampleLayout.Stacked,
            }, _noise);
        }
        else _sst = new SpanningTreeSst(config.SstTemperature, config.SstMaxRange, config.SstHard);
        _network = SeededInitialisation.Build(config.Seed, () => new NriNetwork(_graph, config, layer));
        _adam = optim.Adam(_network.parameters(), config.LearningRate);
        _batches = new EpochBatches(train.Count, config.BatchSize, config.Seed);
        TotalSteps = config.Steps;
    }

    /// <inheritdoc />
    public string Name => $"nri-{NriMethods.Name(_config.Method)}-t{_config.Timesteps}-seed{_config.Seed}";
    /// <inheritdoc />
    public long TotalSteps { get; }
    /// <summary>Steps per epoch over the training trajectories.</summary>
    public long StepsPerEpoch => _batches.StepsPerEpoch;
    /// <inheritdoc />
    public nn.Module Model => _network;
    /// <summary>The network.</summary>
    public NriNetwork Network => _network;
    /// <inheritdoc />
    public OptimizerHelper Optimizer => _adam;
    /// <inheritdoc />
    public IReadOnlyList<Schedule> Schedules => Array.Empty<Schedule>();
    /// <inheritdoc />
    public IReadOnlyList<Generator> Generators => new[] { _noise };
    /// <inheritdoc />
    public EvaluationCadence Cadence => new(_config.EvalEvery);

    /// <inheritdoc />
    public IReadOnlyDictionary<string, string> Configuration => new Dictionary<string, string>
    {
        ["method"] = NriMethods.Display(_config.Method),
        ["estimator"] = Estimator(_config),
        ["data"] = $"{I(_config.Vertices)} vertices, T = {I(_config.Timesteps)}, {I(_train.Count)} / {I(_valid.Count)} / {I(_test.Count)} trajectories, data seed {I(_config.DataSeed)}",
        ["evaluated"] = $"first {I(_config.ValidExamples)} validation trajectories every {I(_config.EvalEvery)} steps, first {I(_config.TestExamples)} test trajectories at the end",
        ["network"] = $"NRI MLP encoder (factor graph) and MLP decoder, {I(_config.Hidden)} hidden units, 2 edge types",
        ["objective"] = $"Gaussian NLL (variance {I(_config.Variance)}) + Gumbel KL, prediction steps {I(_config.EffectivePredictionSteps)}",
        ["steps"] = I(_config.Steps),
        ["batch"] = I(_config.BatchSize),
        ["optimiser"] = $"Adam lr {I(_config.LearningRate)}, x{I(_config.LrGamma)} every {I(_config.LrDecayEpochs)} epochs",
        ["seed"] = I(_config.Seed),
        ["torch threads"] = I(torch.get_num_threads()),
    };

    /// <summary>The estimator in words.</summary>
    public static string Estimator(NriConfig c)
    {
        ArgumentNullException.ThrowIfNull(c);
        string noise = $"Sum-of-Gamma noise (k = {I(c.EffectiveNoiseK)}, {I(c.NoiseTerms)} terms) at temperature {I(c.NoiseTemperature)}";
        return c.Method switch
        {
            NriMethod.Sst => $"Gumbel(0, 1) per edge, Kruskal {(c.SstHard ? "forward, straight-through gradient of" : "tree not used; forward and backward through")} " +
                             $"the matrix-tree marginals at tau = {I(c.SstTemperature)}, clip range {I(c.SstMaxRange)}",
            NriMethod.ImleForward or NriMethod.ImleCentral =>
                $"I-MLE around Kruskal, {(c.Method.IsCentral() ? "central" : "forward")} difference, fixed lambda {I(c.Lambda)} (gradient / lambda), {noise}",
            _ => $"AIMLE around Kruskal, {(c.Method.IsCentral() ? "central" : "forward")} difference, beta from {I(c.AimleInitialBeta)} in steps of " +
                 $"{I(c.AimleStep)} towards {I(c.AimleTargetNonZeros)} non-zero entries per sample (undirected edges), {noise}",
        };
    }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, double> TrainStep(long step)
    {
        ApplyLearningRate(step);
        var x = _train.Positions.index_select(0, _batches.Indices(step));
        _adam.zero_grad();
        var theta = Symmetrise(_network.Encoder.call(x));
        var z = _sst is not null ? _sst.Sample(theta, _noise).Output : _network.Layer!.forward(theta);
        var output = _network.Decoder.forward(x, ToDirected(z), _config.EffectivePredictionSteps);
        var terms = Terms(output, x, theta);
        var loss = (terms.Nll + terms.Kl).mean();
        loss.backward();
        _adam.step();
        var metrics = new Dictionary<string, double>
        {
            ["loss"] = loss.ToDouble(),
            ["nll"] = terms.Nll.mean().ToDouble(),
            ["kl"] = terms.Kl.mean().ToDouble(),
            ["elbo"] = -loss.ToDouble(),
            ["lr"] = LearningRateAt(step),
        };
        if (_adaptive is not null)
        {
            metrics["beta"] = _adaptive.Beta;
            metrics["lambda"] = _adaptive.LastLambda;
            metrics["nonzero_rate"] = _adaptive.NonZeroRate;
        }
        return metrics;
    }

    /// <summary>
    /// The terms of the objective for predictions [B, n, T - 1, dim] of <paramref name="x"/> [B, n, T, dim] and undirected
    /// logits theta [B, m]: NLL = sum (x_hat - x_{1..T-1})^2 / (2 variance) / n, KL = 2 sum_e (theta_e + exp(-theta_e) - 1) / n.
    /// </summary>
    public NriTerms Terms(Tensor output, Tensor x, Tensor theta)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(theta);
        double n = _config.Vertices;
        var target = x.narrow(2, 1, x.shape[2] - 1);
        var nll = (output - target).square().sum(new long[] { 1, 2, 3 }) / (2 * _config.Variance * n);
        var kl = (theta + (-theta).exp() - 1).sum(1) * (2.0 / n);
        return new NriTerms(nll, kl);
    }

    /// <summary>Undirected logits [B, m]: the mean of the two directed logits of each edge.</summary>
    public Tensor Symmetrise(Tensor directed)
    {
        ArgumentNullException.ThrowIfNull(directed);
        var zeros = torch.zeros(directed.shape[0], _graph.Undirected, dtype: directed.dtype, device: directed.device);
        return zeros.index_add(1, _directedToUndirected, directed, 1.0) * 0.5;
    }

    /// <summary>Directed edge weights [B, n (n - 1)]: each undirected edge's value on both of its directions.</summary>
    public Tensor ToDirected(Tensor undirected)
    {
        ArgumentNullException.ThrowIfNull(undirected);
        return undirected.index_select(1, _directedToUndirected);
    }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, double> Evaluate(long stepsDone)
    {
        var result = new Dictionary<string, double> { ["epoch"] = (double)stepsDone / StepsPerEpoch };
        _network.eval();
        try
        {
            foreach (var (k, v) in Score(_valid, _config.ValidExamples, "val")) result[k] = v;
            if (stepsDone >= TotalSteps)
                foreach (var (k, v) in Score(_test, _config.TestExamples, "test")) result[k] = v;
        }
        finally
        {
            _network.train();
        }
        return result;
    }

    /// <summary>
    /// ELBOs, NLL, KL and edge precisions of the first <paramref name="count"/> trajectories of <paramref name="data"/>
    /// with the sampled and the MAP tree (keys prefix_elbo_sample, prefix_elbo_map, prefix_elbo (the reference's evaluation of
    /// this method), prefix_nll_*, prefix_kl, prefix_precision_sample, prefix_precision_map). The Gumbel noise of the
    /// sampled trees comes from a generator seeded by the run's seed, the same at every evaluation.
    /// </summary>
    public IReadOnlyDictionary<string, double> Score(GraphLayoutData data, long count, string prefix)
    {
        ArgumentNullException.ThrowIfNull(data);
        var gen = new Generator((ulong)(_config.Seed * 31L + 7));
        double nllSample = 0, nllMap = 0, kl = 0, precSample = 0, precMap = 0;
        using (torch.no_grad())
            for (long s = 0; s < count; s += EvalBatch)
            {
                using var scope = torch.NewDisposeScope();
                long b = Math.Min(EvalBatch, count - s);
                var x = data.Positions.narrow(0, s, b);
                var truth = data.Edges.narrow(0, s, b);
                var theta = Symmetrise(_network.Encoder.call(x));
                var sample = _kruskal.Solve(theta + DiscreteGrad.Sampling.Gumbel.SampleLike(theta, 1.0, gen));
                var map = _kruskal.Solve(theta);
                var termsSample = Terms(_network.Decoder.forward(x, ToDirected(sample), 1), x, theta);
                var termsMap = Terms(_network.Decoder.forward(x, ToDirected(map), 1), x, theta);
                nllSample += termsSample.Nll.sum().ToDouble();
                nllMap += termsMap.Nll.sum().ToDouble();
                kl += termsSample.Kl.sum().ToDouble();
                precSample += (sample * truth).sum().ToDouble() / (_config.Vertices - 1);
                precMap += (map * truth).sum().ToDouble() / (_config.Vertices - 1);
            }
        nllSample /= count;
        nllMap /= count;
        kl /= count;
        double elboSample = -(nllSample + kl), elboMap = -(nllMap + kl);
        return new Dictionary<string, double>
        {
            [$"{prefix}_elbo"] = _config.Method == NriMethod.Sst ? elboSample : elboMap,
            [$"{prefix}_elbo_sample"] = elboSample,
            [$"{prefix}_elbo_map"] = elboMap,
            [$"{prefix}_nll_sample"] = nllSample,
            [$"{prefix}_nll_map"] = nllMap,
            [$"{prefix}_kl"] = kl,
            [$"{prefix}_precision_sample"] = precSample / count,
            [$"{prefix}_precision_map"] = precMap / count,
            [$"{prefix}_trajectories"] = count,
        };
    }

    /// <summary>Positions [n, T, 2], the true tree [m] and the MAP tree [m] of test trajectory <paramref name="index"/> (eval mode).</summary>
    public (double[] Positions, double[] Truth, double[] Inferred) Example(int index)
    {
        if (index < 0 || index >= _test.Count)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"index must be in [0, {_test.Count - 1}] (got {index}).");
        _network.eval();
        try
        {
            using var _ = torch.no_grad();
            using var scope = torch.NewDisposeScope();
            var x = _test.Positions.narrow(0, index, 1);
            var map = _kruskal.Solve(Symmetrise(_network.Encoder.call(x)));
            return (x.reshape(-1).to(ScalarType.Float64).data<double>().ToArray(),
                _test.Edges[index].to(ScalarType.Float64).data<double>().ToArray(),
                map.reshape(-1).to(ScalarType.Float64).data<double>().ToArray());
        }
        finally
        {
            _network.train();
        }
    }

    /// <inheritdoc />
    public void OnRestored(long stepsDone) => ApplyLearningRate(stepsDone);

    /// <summary>The learning rate of step <paramref name="step"/>: lr x gamma^floor(epoch / decay epochs).</summary>
    public double LearningRateAt(long step) =>
        _config.LearningRate * Math.Pow(_config.LrGamma, step / StepsPerEpoch / _config.LrDecayEpochs);

    /// <summary>Disposes the data when the task owns it.</summary>
    public void Dispose()
    {
        _batches.Dispose();
        _directedToUndirected.Dispose();
        if (!_ownsData) return;
        _train.Dispose();
        _valid.Dispose();
        _test.Dispose();
    }

    private void ApplyLearningRate(long step)
    {
        double lr = LearningRateAt(step);
        foreach (var g in _adam.ParamGroups) g.LearningRate = lr;
    }

    private static string I(double x) => x.ToString(CultureInfo.InvariantCulture);
}
