using DiscreteGrad.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Experiments.ListOps;

/// <summary>
/// The quantity of Figure 6 of David Friede and Mathias Niepert, "Efficient Learning of Discrete-Continuous Computation
/// Graphs" (NeurIPS 2021): how much gradient of the training loss reaches the node states of each message-passing round.
/// On a fixed probe batch, in training mode (the relaxed nodes at the model's current tau, beta and alpha, message dropout
/// on), with the training loss L = sum_b CE(logits_b, y_b), it returns for r = 0..R
/// <code>
/// G_r = (1 / (N d)) sum over real tokens i of the batch, features k:  |dL / dx^r_{b,i,k}|
/// </code>
/// where x^0 is the decoder's token embedding, x^r = x^{r-1} + m^r the state after round r (before the digit component),
/// N the number of real tokens and d the width (padding positions, whose gradient is 0, are left out of the mean). The
/// gradients come from <see cref="GradientTracker"/> (one backward pass through the tracked states).
/// <para>The probe is a function of the weights and the schedule values alone: its draws (parents, digits, DropRes coins)
/// come from a fresh generator seeded with the given seed, message dropout from the global generator seeded with it, and
/// the (CPU) global generator's state, the model's generator, tracker and mode are restored afterwards, so probing does not
/// change the training run. The parameters' gradients it leaves are set to zero.</para>
/// </summary>
public static class ListOpsGradientProbe
{
    /// <summary>G_0 .. G_R (see the class summary) for the batch, R = <see cref="DccgListOpsModel.Rounds"/>.</summary>
    /// <param name="model">The model (its current tau, beta, alpha apply).</param>
    /// <param name="batch">The probe batch (padding trailing, with its mask).</param>
    /// <param name="seed">Seed of the probe's draws.</param>
    public static double[] RoundGradients(DccgListOpsModel model, ListOpsBatch batch, long seed)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(batch);
        var savedTracker = model.Tracker;
        var savedGenerator = model.Generator;
        bool wasTraining = model.training;
        using var globalState = torch.random.get_rng_state();
        using var tracker = new GradientTracker();
        using var generator = new Generator((ulong)seed, batch.Tokens.device);
        try
        {
            torch.random.manual_seed(seed);
            model.Generator = generator;
            model.Tracker = tracker;
            model.train();
            using var grad = torch.enable_grad();
            using var scope = torch.NewDisposeScope();
            var output = model.Forward(batch.Tokens, batch.Mask);
            var loss = nn.functional.cross_entropy(output.Logits, batch.Targets, reduction: nn.Reduction.Sum);
            loss.backward();
            var mask = batch.Mask.to(ScalarType.Float64).cpu().unsqueeze(-1);
            double denominator = mask.sum().item<double>() * model.Options.Dim;
            var result = new double[model.Rounds + 1];
            for (int r = 0; r <= model.Rounds; r++)
            {
                var g = tracker.Gradient($"round{r}");
                result[r] = g is null ? 0 : (g.abs() * mask).sum().item<double>() / denominator;
            }
            return result;
        }
        finally
        {
            tracker.Clear();
            model.Tracker = savedTracker;
            model.Generator = savedGenerator;
            model.train(wasTraining);
            model.zero_grad();
            torch.random.set_rng_state(globalState);
        }
    }
}
