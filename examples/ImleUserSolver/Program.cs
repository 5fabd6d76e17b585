// I-MLE (Niepert, Minervini and Franceschi 2021, "Implicit MLE: Backpropagating Through Discrete Exponential Family
// Distributions") around a solver written here: "the best k in each block" (weights [B, n] cut into blocks of m, the k
// largest of each block chosen). The layer learns the weights theta whose solution matches a target solution, by the
// I-MLE gradient of a Hamming loss; the solver itself has no gradient.
using DiscreteGrad;
using DiscreteGrad.Imle;
using DiscreteGrad.Solvers;
using TorchSharp;
using static TorchSharp.torch;

int steps = 200;
if (args.Length > 0 && !(args is ["--steps", var s] && int.TryParse(s, out steps) && steps >= 1))
{
    Console.Error.WriteLine("usage: ImleUserSolver [--steps N], N >= 1 (default 200)");
    return 2;
}
const int Batch = 8, Blocks = 6, BlockSize = 5, K = 2;

var solver = new BestKPerBlock(BlockSize, K);
var data = new Generator(0);
var target = solver.Solve(randn(new long[] { Batch, Blocks * BlockSize }, generator: data));       // the solutions to match
var theta = new TorchSharp.Modules.Parameter(zeros(new long[] { Batch, Blocks * BlockSize }));   // the weights to learn
var imle = discrete.ImleLayer(solver, new ImleOptions
{
    Noise = ImleNoise.SumOfGamma(K),                          // perturb-and-MAP noise for k-subsets
    Target = ImleTargetDistribution.Fixed(10.0),   // lambda of the target distribution
}, generator: new Generator(1));
var optimizer = optim.Adam(new[] { theta }, lr: 0.1);

double Mismatch() { using var _ = no_grad(); return (solver.Solve(theta) - target).abs().sum().item<float>() / Batch; }
double before = Mismatch();
Console.WriteLine($"step 0: {before:F2} wrong entries per instance");
for (int step = 1; step <= steps; step++)
{
    using var scope = NewDisposeScope();
    var z = imle.forward(theta);                              // a perturbed MAP solution, 0/1 [B, n]
    var loss = (z - target).abs().sum() / Batch;              // Hamming distance to the target
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    if (step % Math.Max(1, steps / 5) == 0) Console.WriteLine($"step {step}: sampled Hamming loss {loss.item<float>():F2}");
}
double after = Mismatch();
Console.WriteLine($"wrong entries of MAP(theta) per instance {before:F2} -> {after:F2} after {steps} steps (of {Blocks * 2 * K} possible)");
return 0;

/// <summary>The k largest weights of each block of m consecutive entries: weights [B, n] (n a multiple of m) to 0/1 [B, n].</summary>
sealed class BestKPerBlock(int m, int k) : IMapSolver
{
    public Tensor Solve(Tensor weights)
    {
        using var _ = no_grad();
        var blocks = weights.reshape(weights.shape[0], -1, m);
        var chosen = blocks.topk(k, dim: -1).indexes;
        return zeros_like(blocks).scatter_(-1, chosen, ones_like(chosen, dtype: weights.dtype)).reshape(weights.shape);
    }
}
