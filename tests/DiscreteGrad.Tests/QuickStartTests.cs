using DiscreteGrad.Diagnostics;
using DiscreteGrad.Estimators;
using DiscreteGrad.Imle;
using DiscreteGrad.Solvers;
using TorchSharp;
using static DiscreteGrad.discrete;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests;

/// <summary>The README quick start, compiled and run here; a test keeps README.md and docs/guide/getting-started.md in step with this code.</summary>
[Collection(GlobalGenerator.Name)]
public class QuickStartTests
{
    private static (double Loss, BiasReport Report, Tensor Output) QuickStart()
    {
        // README:begin
        var gen = new Generator(seed: 0);
        var logits = randn(new long[] { 32, 10 }, generator: gen).requires_grad_(true);

        // Functional forms, like torch.nn.functional: a one-hot sample with ReinMax's gradient and softmax(logits).
        var (z, probs) = functional.reinmax(logits, tau: 1.0, generator: gen);
        // Gumbel-softmax with PyTorch's arguments (tau, hard, dim), then the Gumbel scale beta; hard: straight-through.
        var y = functional.gumbel_softmax(logits, tau: 0.5, hard: true, dim: -1, beta: 1.0, generator: gen);
        var loss = (z * arange(10)).sum() + (y * arange(10)).sum() + (probs * probs.log()).sum();
        loss.backward();                                   // logits.grad now holds the estimated gradient

        // Modules from factories, like nn.Linear: a categorical node in a Sequential; eval() makes it return the argmax.
        var model = nn.Sequential(
            ("encoder", nn.Linear(784, 10)),
            ("z", CategoricalNode(EstimatorKind.StraightThroughGumbel, new EstimatorOptions(Tau: 1.0, Beta: 1.0), generator: gen)),
            ("decoder", nn.Linear(10, 784)));
        var output = model.forward(rand(new long[] { 16, 784 }, generator: gen));
        var saved = model.state_dict();                    // holds the node's tau and beta ("z.tau", "z.beta")

        // I-MLE with an adaptive target (AIMLE) around a top-3 solver, also a module; its target's state is in state_dict.
        var imle = ImleLayer(new TopKSolver(k: 3), new ImleOptions { Noise = ImleNoise.SumOfGamma(k: 3), Target = new AdaptiveImleTarget() }, gen);
        var subset = imle.forward(logits.detach().requires_grad_(true));   // [32, 10], three ones per row

        // Diagnostics: exact bias of an estimator by enumerating every joint state of 3 ternary nodes.
        Func<Tensor, Tensor> f = states => (states.select(2, 0).sum(1) - 1.5).pow(2);
        var report = EstimatorDiagnostics.Analyse(randn(new long[] { 3, 3 }, dtype: ScalarType.Float64, generator: gen), f, EstimatorKind.StraightThrough);
        Console.WriteLine($"cosine {report.CosineSimilarity:F3}, relative error {report.RelativeL2Error:F3}");
        // README:end
        Assert.Equal(new[] { "z.beta", "z.tau" }, saved.Keys.Where(k => k.StartsWith("z.", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        Assert.True((subset.sum(-1) == 3).all().item<bool>());
        return (loss.item<float>(), report, output);
    }

    [Fact]
    public void Quick_start_runs_and_produces_gradients()
    {
        var (loss, report, output) = QuickStart();
        Assert.True(float.IsFinite((float)loss));
        Assert.Equal(new long[] { 16, 784 }, output.shape);
        Assert.True(report.Exact);
        Assert.InRange(report.CosineSimilarity, -1.0, 1.0);
    }

    [Theory]
    [InlineData("README.md")]
    [InlineData("docs/guide/getting-started.md")]
    public void The_readme_and_the_getting_started_page_contain_the_quick_start_verbatim(string page)
    {
        string dir = AppContext.BaseDirectory;
        while (dir != null && !File.Exists(Path.Combine(dir, "README.md"))) dir = Path.GetDirectoryName(dir)!;
        Assert.NotNull(dir);
        string text = File.ReadAllText(Path.Combine(dir!, page));
        string me = File.ReadAllText(Path.Combine(dir!, "tests", "DiscreteGrad.Tests", "QuickStartTests.cs"));
        int a = me.IndexOf("// README:begin", StringComparison.Ordinal), b = me.IndexOf("// README:end", StringComparison.Ordinal);
        var lines = me[a..b].Split('\n').Skip(1).Select(l => l.Trim()).Where(l => l.Length > 0);
        var usings = me.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("using ", StringComparison.Ordinal));
        foreach (var line in usings.Concat(lines))
            Assert.True(text.Contains(line, StringComparison.Ordinal), $"{page} lacks the quick-start line: {line}");
    }
}
