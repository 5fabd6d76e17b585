// REINFORCE (Williams 1992) with the leave-one-out baseline (RLOO; Kool, van Hoof and Welling 2019, "Buy 4 REINFORCE
// Samples, Get a Baseline for Free!") on a small categorical problem: 6 independent choices among 5 options, each option
// with a cost; f(z) is the total cost of the choices, a black box (no gradient through it). The policy's logits learn
// to pick the cheapest option of each choice. The expected cost is computed exactly (the distribution is small).
using DiscreteGrad.ScoreFunction;
using TorchSharp;
using static TorchSharp.torch;

int steps = 200;
if (args.Length > 0 && !(args is ["--steps", var s] && int.TryParse(s, out steps) && steps >= 1))
{
    Console.Error.WriteLine("usage: ReinforceRloo [--steps N], N >= 1 (default 200)");
    return 2;
}
const int Choices = 6, Options = 5, Samples = 4;

var costs = rand(new long[] { Choices, Options }, generator: new Generator(0));
var logits = new TorchSharp.Modules.Parameter(zeros(new long[] { Choices, Options }));   // the policy: uniform at first
var optimizer = optim.Adam(new[] { logits }, lr: 0.05);
var sampling = new Generator(1);
var rloo = new LeaveOneOutBaseline();

// f: one-hot samples [S, Choices, Options] to the total cost of each sample [S]; only its values are used.
Tensor TotalCost(Tensor z) => (z * costs).sum(new long[] { 1, 2 });
double ExpectedCost() { using var _ = no_grad(); return (nn.functional.softmax(logits, -1) * costs).sum().item<float>(); }
double best = costs.min(-1).values.sum().item<float>(), before = ExpectedCost();
Console.WriteLine($"step 0: expected cost {before:F3} (optimum {best:F3})");
for (int step = 1; step <= steps; step++)
{
    using var scope = NewDisposeScope();
    var result = Reinforce.Categorical(logits, TotalCost, rloo, samples: Samples, generator: sampling);
    optimizer.zero_grad();
    result.Surrogate.mean().backward();                       // minimise: f is a cost
    optimizer.step();
    if (step % Math.Max(1, steps / 5) == 0)
        Console.WriteLine($"step {step}: sampled cost {result.Values.mean().item<float>():F3}, expected cost {ExpectedCost():F3}");
}
double after = ExpectedCost();
Console.WriteLine($"expected cost {before:F3} -> {after:F3} after {steps} steps (optimum {best:F3})");
return 0;
