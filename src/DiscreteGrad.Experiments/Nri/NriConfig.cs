using DiscreteGrad.Experiments.Runner;

namespace DiscreteGrad.Experiments.Nri;

/// <summary>
/// One neural-relational-inference run on graph layouts (the setting of Paulus, Choi, Tarlow, Krause and Maddison,
/// "Gradient Estimation with Stochastic Softmax Tricks", NeurIPS 2020, used again by Minervini, Franceschi and Niepert,
/// "Adaptive Perturbation-Based Gradient Estimation for Discrete Latent Variable Models", AAAI 2023). Every property is a
/// setting of the <c>nri</c> command; the grid is seeds x timesteps x methods (seed-major, so that a grid stopped early has every method at its first seeds). Defaults follow the references' scripts
/// (choidami/sst and torch-adaptive-imle): 10 vertices in 2-D, 50k / 10k / 10k trajectories from data seed 42, batch 128,
/// 256 hidden units, variance 5e-5, prediction steps 9 for T = 10 and 10 for T = 20, Adam with the learning rate halved
/// every 200 epochs, max range 15 for the SST relaxation, Sum-of-Gamma noise with k = n and 10 terms, AIMLE from beta 0
/// in steps of 1e-3. The learning rate, temperatures and lambda are our choices (the papers tuned them per method).
/// </summary>
public sealed record NriConfig : IValidatedConfig
{
    /// <summary>Seed of the model's initialisation, noise and batch order (a sweep axis).</summary>
    [Setting("seeds", "Seeds of the runs.", Axis = true, Count = true, CountFrom = 1, Min = 0, Max = 1_000_000)]
    public int Seed { get; init; } = 1;
    /// <summary>Frames T per trajectory (a sweep axis; the papers report T = 10 and T = 20).</summary>
    [Setting("timesteps", "Frames T per trajectory (the papers: 10 and 20).", Axis = true, Min = 2, Max = 1000, AxisDefault = "10")]
    public int Timesteps { get; init; } = 10;
    /// <summary>Edge estimator (a sweep axis; the command's default grid has all five).</summary>
    [Setting("methods", "Edge estimators: sst, imle-forward, imle-central, aimle-forward, aimle-central ('all': the five).", Axis = true,
        Values = typeof(NriMethodWords), AxisDefault = "all")]
    public NriMethod Method { get; init; } = NriMethod.AimleForward;
    /// <summary>Vertices n of the graphs.</summary>
    [Setting("vertices", "Vertices n of the graphs.", Min = 3, Max = 100)]
    public int Vertices { get; init; } = 10;
    /// <summary>Training trajectories.</summary>
    [Setting("train", "Training trajectories.", Min = 1, Max = 10_000_000)]
    public int TrainTrajectories { get; init; } = 50_000;
    /// <summary>Validation trajectories generated (the evaluations use the first <see cref="ValidExamples"/>).</summary>
    [Setting("valid", "Validation trajectories generated.", Min = 1, Max = 10_000_000)]
    public int ValidTrajectories { get; init; } = 10_000;
    /// <summary>Test trajectories generated (the last evaluation uses the first <see cref="TestExamples"/>).</summary>
    [Setting("test", "Test trajectories generated.", Min = 1, Max = 10_000_000)]
    public int TestTrajectories { get; init; } = 10_000;
    /// <summary>Validation trajectories scored at every evaluation (the first ones; at most <see cref="ValidTrajectories"/>).</summary>
    [Setting("valid-examples", "Validation trajectories scored at every evaluation (at most --valid).", Min = 1, Max = 10_000_000)]
    public int ValidExamples { get; init; } = 10_000;
    /// <summary>Test trajectories scored after the last step (the first ones; at most <see cref="TestTrajectories"/>).</summary>
    [Setting("test-examples", "Test trajectories scored after the last step (at most --test).", Min = 1, Max = 10_000_000)]
    public int TestExamples { get; init; } = 10_000;
    /// <summary>Seed of the data set (the same for every cell).</summary>
    [Setting("data-seed", "Seed of the generated trajectories.", Min = 0, Max = 1_000_000_000)]
    public int DataSeed { get; init; } = 42;
    /// <summary>Optimisation steps (the references: 50000 iterations).</summary>
    [Setting("steps", "Optimisation steps (the references: 50000).", Min = 1, Max = 100_000_000)]
    public long Steps { get; init; } = 50_000;
    /// <summary>Steps between evaluations on the validation trajectories (the references: 500); one more after the last step.</summary>
    [Setting("eval-every", "Steps between evaluations (the references: 500).", Min = 1, Max = 100_000_000)]
    public long EvalEvery { get; init; } = 500;
    /// <summary>Batch size.</summary>
    [Setting("batch", "Batch size (the references: 128).", Min = 1, Max = 1 << 20)]
    public int BatchSize { get; init; } = 128;
    /// <summary>Adam learning rate.</summary>
    [Setting("lr", "Adam learning rate.", Min = 0, MinExclusive = true, Max = 10)]
    public double LearningRate { get; init; } = 5e-4;
    /// <summary>Epochs between halvings of the learning rate (the references: StepLR 200 epochs, factor 0.5).</summary>
    [Setting("lr-decay-epochs", "Epochs between learning-rate decays (x --lr-gamma).", Min = 1, Max = 1_000_000)]
    public int LrDecayEpochs { get; init; } = 200;
    /// <summary>Factor of each learning-rate decay.</summary>
    [Setting("lr-gamma", "Learning-rate decay factor.", Min = 0, MinExclusive = true, Max = 1)]
    public double LrGamma { get; init; } = 0.5;
    /// <summary>Hidden units of every MLP of encoder and decoder.</summary>
    [Setting("hidden", "Hidden units of the encoder and decoder MLPs.", Min = 1, Max = 100_000)]
    public int Hidden { get; init; } = 256;
    /// <summary>Variance of the Gaussian likelihood.</summary>
    [Setting("variance", "Variance of the Gaussian output distribution.", Min = 0, MinExclusive = true, Max = 1e6)]
    public double Variance { get; init; } = 5e-5;
    /// <summary>Decoder steps predicted before teacher forcing again, in training (0: T - 1 for T &lt;= 11, else 10, as the references).</summary>
    [Setting("prediction-steps", "Decoder steps before teacher forcing in training (0: min(T - 1, 10)).", Min = 0, Max = 1000)]
    public int PredictionSteps { get; init; }
    /// <summary>SST: temperature tau of the relaxation.</summary>
    [Setting("sst-temperature", "SST: temperature of the spanning-tree relaxation.", Min = 0, MinExclusive = true, Max = 1e6)]
    public double SstTemperature { get; init; } = 1.0;
    /// <summary>SST: clip range of the perturbed weights / tau below their maximum (the reference: 15).</summary>
    [Setting("sst-max-range", "SST: clip range of the perturbed weights / tau below their maximum.", Min = 0, MinExclusive = true, Max = 1e9)]
    public double SstMaxRange { get; init; } = 15;
    /// <summary>SST: Kruskal tree forward with the relaxation's gradient (true), or the relaxed marginals forward (false).</summary>
    [Setting("sst-hard", "SST: hard Kruskal tree in the forward pass, straight-through (true) or the relaxed marginals (false).")]
    public bool SstHard { get; init; } = true;
    /// <summary>I-MLE and AIMLE: temperature of the Sum-of-Gamma noise (input and target; 0: no noise).</summary>
    [Setting("noise-temperature", "I-MLE and AIMLE: noise temperature, input and target.", Min = 0, Max = 1e6)]
    public double NoiseTemperature { get; init; } = 1.0;
    /// <summary>I-MLE and AIMLE: k of the Sum-of-Gamma noise (0: the vertex count n, as the reference).</summary>
    [Setting("noise-k", "I-MLE and AIMLE: k of the Sum-of-Gamma noise (0: the vertex count).", Min = 0, Max = 1e6)]
    public double NoiseK { get; init; }
    /// <summary>I-MLE and AIMLE: Gamma terms of the Sum-of-Gamma noise.</summary>
    [Setting("noise-terms", "I-MLE and AIMLE: Gamma terms of the Sum-of-Gamma noise.", Min = 1, Max = 1000)]
    public int NoiseTerms { get; init; } = 10;
    /// <summary>I-MLE: fixed lambda (the gradient is divided by it).</summary>
    [Setting("lambda", "I-MLE: fixed lambda (gradient divided by it).", Min = 0, MinExclusive = true, Max = 1e9)]
    public double Lambda { get; init; } = 0.01;
    /// <summary>AIMLE: initial beta.</summary>
    [Setting("aimle-initial-beta", "AIMLE: initial beta.", Min = 0, Max = 1e6)]
    public double AimleInitialBeta { get; init; }
    /// <summary>AIMLE: change of beta per backward pass.</summary>
    [Setting("aimle-step", "AIMLE: change of beta per step.", Min = 0, MinExclusive = true, Max = 1e3)]
    public double AimleStep { get; init; } = 1e-3;
    /// <summary>AIMLE: target non-zero entries of the difference per sample, counted on undirected edges (the reference's
    /// 1 on directed entries, each undirected edge counted twice, is 0.5 here).</summary>
    [Setting("aimle-target", "AIMLE: target non-zero gradient entries per sample, on undirected edges.", Min = 0, Max = 1e6)]
    public double AimleTargetNonZeros { get; init; } = 0.5;

    /// <summary>Undirected edges m = n (n - 1) / 2.</summary>
    public int Edges => Vertices * (Vertices - 1) / 2;
    /// <summary>The training prediction steps in use.</summary>
    public int EffectivePredictionSteps => PredictionSteps > 0 ? PredictionSteps : Math.Min(Timesteps - 1, 10);
    /// <summary>The Sum-of-Gamma k in use.</summary>
    public double EffectiveNoiseK => NoiseK > 0 ? NoiseK : Vertices;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting: each declared range, then the prediction steps and the evaluated subsets.</summary>
    public void Validate()
    {
        foreach (var s in GridSpec<NriConfig>.Settings) s.Check(s.Get(this));
        if (EffectivePredictionSteps > Timesteps - 1)
            throw new ArgumentOutOfRangeException(nameof(PredictionSteps), PredictionSteps, $"must be at most --timesteps - 1 = {Timesteps - 1} (got {PredictionSteps}).");
        if (ValidExamples > ValidTrajectories)
            throw new ArgumentOutOfRangeException(nameof(ValidExamples), ValidExamples, $"must be at most --valid = {ValidTrajectories} (got {ValidExamples}).");
        if (TestExamples > TestTrajectories)
            throw new ArgumentOutOfRangeException(nameof(TestExamples), TestExamples, $"must be at most --test = {TestTrajectories} (got {TestExamples}).");
    }
}
