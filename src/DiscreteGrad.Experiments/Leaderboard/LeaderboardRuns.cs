using DiscreteGrad.Experiments.BernoulliVae;
using DiscreteGrad.Experiments.Data;
using DiscreteGrad.Experiments.ImleGradients;
using DiscreteGrad.Experiments.Polynomial;
using DiscreteGrad.Experiments.Runner;
using DiscreteGrad.Experiments.Vae;
using DiscreteGrad.Imle;
using TorchSharp;

namespace DiscreteGrad.Experiments.Leaderboard;

/// <summary>
/// How each problem of the suite runs one estimator, in the cell's process, with the experiments' own tasks
/// (<see cref="PolynomialTask"/>, <see cref="VaeTask"/>, <see cref="BernoulliVaeTask"/>, <see cref="ImleGradientsStudy"/>):
/// train for the budget's steps (timed), evaluate once at the end, then measure the peak memory of a few more steps.
/// Each returns the cell's metrics, or null when the run was stopped (SIGTERM: a rerun starts the cell afresh).
/// </summary>
public static class LeaderboardRuns
{
    /// <summary>Runs the cell's problem and estimator; the metrics of its one record (null when stopped).</summary>
    public static Dictionary<string, double>? Run(LeaderboardConfig config, RunContext context)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(context);
        double loadBefore = StepCost.LoadAverage();
        var metrics = config.Item switch
        {
            var i when LeaderboardItems.IsPolynomial(i) => RunPolynomial(config, context),
            LeaderboardItem.Vae8x4 => RunVae(config, context),
            LeaderboardItem.BernoulliVae => RunBernoulliVae(config, context),
            _ => RunTopK(config, context),
        };
        if (metrics is null) return null;
        metrics["load_before"] = loadBefore;
        metrics["load_after"] = StepCost.LoadAverage();
        metrics["cores"] = Environment.ProcessorCount;
        metrics["process_peak_mb"] = context.OwnsProcess ? StepCost.ProcessPeakMegabytes() : double.NaN;
        return metrics;
    }

    /// <summary>The settings of a polynomial problem's run: the polynomial experiment's defaults (N = 128, batch 64, Adam
    /// 1e-3, tau 1; decoupled forms tau_b = 1, tau_f = 0.5; RELAX's network 32 units) with the budget's steps.</summary>
    public static PolynomialConfig PolynomialRun(LeaderboardConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var (p, vector) = LeaderboardItems.Polynomial(config.Item);
        int steps = config.Budget.PolynomialSteps;
        return new PolynomialConfig
        {
            Estimator = LeaderboardEstimators.ForPolynomial(config.Estimator) ?? throw new ArgumentException($"{config.Estimator} is no polynomial estimator.", nameof(config)),
            Power = p, TargetVector = vector, Seed = config.Seed, Steps = steps, LogEvery = steps, FinalWindow = Math.Min(100, steps),
        };
    }

    private static Dictionary<string, double>? RunPolynomial(LeaderboardConfig config, RunContext context)
    {
        var pc = PolynomialRun(config);
        using var task = new PolynomialTask(pc, context.TorchDevice);
        var timing = Train(task, pc.Steps, context, out _);
        if (timing is null) return null;
        var eval = Evaluate(task, pc.Steps);
        var m = Cost(timing, PeakMemory(task, pc.Steps, config, context));
        foreach (var key in new[] { "excess_loss", "exact_loss", "final_train_loss", "mean_q" }) m[key] = eval[key];
        m["f_evaluations"] = PolynomialEstimators.Evaluations(pc.Estimator, pc.Batch, pc.Dimension);
        m["steps"] = pc.Steps;
        return m;
    }

    /// <summary>The settings of the categorical VAE's run: 8x4, the vae experiment's defaults (Adam 1e-3, tau 1, batch
    /// 100, all 60,000 training and 10,000 test images), enough epochs for the budget's steps.</summary>
    public static VaeConfig VaeRun(LeaderboardConfig config, int trainImages, int testImages, VaeEstimator estimator)
    {
        ArgumentNullException.ThrowIfNull(config);
        var c = new VaeConfig { Shape = "8x4", Estimator = estimator, Seed = config.Seed, Data = config.Data, TrainExamples = trainImages, TestExamples = testImages };
        return c with { Epochs = (int)Math.Max(1, (config.Budget.VaeSteps + c.StepsPerEpoch - 1) / c.StepsPerEpoch) };
    }

    private static Dictionary<string, double>? RunVae(LeaderboardConfig config, RunContext context)
    {
        var budget = config.Budget;
        var estimator = LeaderboardEstimators.ForVae(config.Estimator)!.Value;
        var device = context.TorchDevice;
        var mnist = MnistFolder.Load(config.Data, context.Log);
        using var data = VaeData.FromMnist(mnist, mnist.Train.Count, mnist.Test.Count, device);
        var vc = VaeRun(config, mnist.Train.Count, mnist.Test.Count, estimator);
        Dictionary<string, double> m;
        using (var task = new VaeTask(vc, data, device))
        {
            var timing = Train(task, budget.VaeSteps, context, out _);
            if (timing is null) return null;
            var eval = Evaluate(task, budget.VaeSteps);
            m = Cost(timing, PeakMemory(task, budget.VaeSteps, config, context));
            m["test_nelbo"] = eval["test_nelbo"];
            m["train_nelbo"] = eval["train_nelbo"];
            m["steps"] = budget.VaeSteps;
        }
        if (estimator == VaeEstimator.Vimco) return m;   // it estimates the gradient of its K-sample bound: no bias study
        // The bias at one common model: ReinMax-trained from the seed's initialisation, the same for every estimator.
        using var common = new VaeTask(VaeRun(config, mnist.Train.Count, mnist.Test.Count, VaeEstimator.ReinMax), data, device);
        if (budget.BiasModelSteps > 0 && Train(common, budget.BiasModelSteps, context, out _) is null) return null;
        var options = (vc with { Estimator = estimator }).PathwiseOptions;
        var (_, bias) = VaeBiasExperiment.AnalyseModel(common.Vae, data.Test, budget.BiasImages, estimator, options, budget.BiasGroups, budget.BiasDraws,
            config.Seed, budget.BiasModelSteps, context.Log);
        foreach (var (k, v) in bias) m["bias_" + k] = v;
        bool exact = bias.ContainsKey("exact_cosine");
        m["bias_exact"] = exact ? 1 : 0;
        m["bias_cos"] = exact ? bias["exact_cosine"] : bias["cosine"];
        m["bias_cos_se"] = exact ? bias["exact_cosine_se"] : bias["cosine_se"];
        m["bias_rel"] = exact ? bias["exact_relative_bias"] : bias["relative_bias"];
        return m;
    }

    /// <summary>The settings of the Bernoulli VAE's run: the bernoulli-vae experiment's defaults (200 latents, 50,000
    /// training images, batch 100, Adam 3e-4, tau 1.1 for every pathwise estimator) with K = 6 evaluations, so that every
    /// estimator's rule on K holds (pairs for ARM and DisARM, triples for REBAR and RELAX).</summary>
    /// <param name="config">The cell.</param>
    /// <param name="trainImages">MNIST's training images (the run takes the first min(50,000, this)).</param>
    public static BernoulliVaeConfig BernoulliVaeRun(LeaderboardConfig config, int trainImages)
    {
        ArgumentNullException.ThrowIfNull(config);
        var c = new BernoulliVaeConfig
        {
            Estimator = LeaderboardEstimators.ForBernoulliVae(config.Estimator) ?? throw new ArgumentException($"{config.Estimator} is no Bernoulli VAE estimator.", nameof(config)),
            Evaluations = 6, Seed = config.Seed, Data = config.Data,
        };
        c = c with { TrainCount = Math.Min(c.TrainCount, trainImages) };
        return c with { Epochs = (int)Math.Max(1, (config.Budget.BernoulliVaeSteps + c.StepsPerEpoch - 1) / c.StepsPerEpoch) };
    }

    private static Dictionary<string, double>? RunBernoulliVae(LeaderboardConfig config, RunContext context)
    {
        int steps = config.Budget.BernoulliVaeSteps;
        var device = context.TorchDevice;
        var mnist = MnistFolder.Load(config.Data, context.Log);
        var bc = BernoulliVaeRun(config, mnist.Train.Count);
        using var task = new BernoulliVaeTask(bc, BernoulliVaeData.FromMnist(mnist, bc.TrainCount, bc.Seed, device), device, ownsData: true);
        var timing = Train(task, steps, context, out var losses);
        if (timing is null) return null;
        var eval = Evaluate(task, steps);
        var m = Cost(timing, PeakMemory(task, steps, config, context));
        m["test_nelbo"] = eval["test_neg_elbo"];
        int window = (int)Math.Min(task.StepsPerEpoch, losses.Count);
        m["train_nelbo"] = losses.Skip(losses.Count - window).Average();
        m["steps"] = steps;
        return m;
    }

    /// <summary>The settings of the top-k study: <see cref="ImleGradientsConfig"/>'s defaults with the budget's case and sizes.</summary>
    public static ImleGradientsConfig TopKRun(LeaderboardConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var b = config.Budget;
        return new ImleGradientsConfig
        {
            Case = b.TopKCase, Method = LeaderboardEstimators.ForTopK(config.Estimator) ?? throw new ArgumentException($"{config.Estimator} is no top-k method.", nameof(config)),
            Seeds = b.TopKSeeds, Samples = b.TopKSamples, LambdasPerDecade = b.TopKLambdasPerDecade, WarmupSteps = b.TopKWarmup,
            SgdSteps = b.TopKSgdSteps, SgdRepeats = b.TopKSgdRuns, Seed = (ulong)config.Seed,
        };
    }

    private static Dictionary<string, double>? RunTopK(LeaderboardConfig config, RunContext context)
    {
        var ic = TopKRun(config);
        string name = $"leaderboard-topk-{config.Estimator}";
        bool started = false;
        ImleGradientsCellResult r;
        try
        {
            r = ImleGradientsStudy.Run(ic, (done, total) =>
            {
                if (!started) context.Observer?.Started(name, 0, total);
                started = true;
                context.Observer?.Stepped(done, new Dictionary<string, double>());
            }, context.Stop);
        }
        catch (OperationCanceledException) when (context.Stop.IsCancellationRequested)
        {
            return null;
        }
        // Cost: one gradient estimate with S samples at the first problem, at the best lambda (AIMLE adapting as it goes).
        using var family = new KSubsetFamily(ic.N, ic.K);
        var estimator = new TopKGradientEstimator(family);
        var (theta, bvec) = ImleGradientsStudy.Problem(ic.N, ic.Seed);
        double lambda = double.IsNaN(r.Best.Lambda) ? 1.0 : r.Best.Lambda;
        var target = new AdaptiveImleTarget(ic.AimleTargetNonZeros, ic.AimleStep, ic.AimleInitialBeta);
        var gen = new torch.Generator(3_000_000UL + (ulong)config.Seed);
        void Step(long _) => estimator.Estimate(ic.Method, theta, bvec, ic.Samples, lambda, target, gen);
        int timed = config.Budget.TopKTimedEstimates;
        var timing = StepCost.Time(timed, Step, context.OwnsProcess);
        var m = Cost(timing, StepCost.PeakStepMegabytes(config.Budget.MemorySteps, i => Step(i), context.OwnsProcess));
        var (bestLambda, best) = r.Best;
        m["cosine"] = best.Mean;
        m["cosine_se"] = best.Se;
        if (!double.IsNaN(bestLambda)) m["best_lambda"] = bestLambda;
        m["final_gap"] = r.Gap[^1].Mean;
        m["exact_final_gap"] = r.ExactGap[^1].Mean;
        m["study_seconds"] = r.Seconds;
        m["steps"] = timed;
        return m;
    }

    /// <summary>
    /// Trains <paramref name="task"/> for <paramref name="steps"/> steps as the runner does (train mode, one dispose scope
    /// per step, a collection every 25 steps between no-GC windows in a process of its own, a non-finite loss stops the run
    /// naming the step) and times the loop; returns null when the run's stop token fires. <paramref name="losses"/>
    /// receives every step's "loss".
    /// </summary>
    public static StepTiming? Train(ITrainingTask task, long steps, RunContext context, out List<double> losses)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(context);
        var recorded = new List<double>();
        losses = recorded;
        context.Observer?.Started(task.Name, 0, steps);
        task.Model.train();
        bool stopped = false;
        using var windows = new CollectionWindows(context.OwnsProcess);
        var timing = StepCost.Time(steps, step =>
        {
            if (stopped || context.Stop.IsCancellationRequested)
            {
                stopped = true;
                return;
            }
            IReadOnlyDictionary<string, double> m;
            using (torch.NewDisposeScope()) m = task.TrainStep(step);
            double loss = m["loss"];
            if (!double.IsFinite(loss)) throw new NonFiniteLossException(task.Name, step, loss, null);
            recorded.Add(loss);
            if ((step + 1) % CollectionWindows.Steps == 0)
            {
                windows.Next();
                GC.WaitForPendingFinalizers();
            }
            context.Observer?.Stepped(step + 1, m);
        }, context.OwnsProcess);
        windows.Dispose();   // the evaluation that follows allocates freely
        return stopped ? null : timing;
    }

    /// <summary>The task's evaluation after <paramref name="stepsDone"/> steps, in eval mode without gradients.</summary>
    public static IReadOnlyDictionary<string, double> Evaluate(ITrainingTask task, long stepsDone)
    {
        ArgumentNullException.ThrowIfNull(task);
        task.Model.eval();
        try
        {
            using (torch.no_grad())
            using (torch.NewDisposeScope())
                return task.Evaluate(stepsDone);
        }
        finally
        {
            task.Model.train();
        }
    }

    private static double PeakMemory(ITrainingTask task, long stepsDone, LeaderboardConfig config, RunContext context) =>
        StepCost.PeakStepMegabytes(config.Budget.MemorySteps, i =>
        {
            using (torch.NewDisposeScope()) task.TrainStep(stepsDone + i);
        }, context.OwnsProcess);

    private static Dictionary<string, double> Cost(StepTiming timing, double peak) => new()
    {
        ["wall_ms_per_step"] = 1000 * timing.WallSecondsPerStep,
        ["cpu_ms_per_step"] = 1000 * timing.CpuSecondsPerStep,
        ["step_peak_mb"] = peak,
    };
}
