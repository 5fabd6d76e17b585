using DiscreteGrad.Diagnostics;
using DiscreteGrad.Estimators;
using DiscreteGrad.Layers;
using TorchSharp;
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

        // Functional API: a one-hot sample with ReinMax's gradient, and the probabilities for a KL term.
        var (z, probs) = Functional.ReinMax(logits, tau: 1.0, generator: gen);
        // Gumbel-softmax with temperature tau and Gumbel scale beta (hard: straight-through).
        var y = Functional.GumbelSoftmax(logits, tau: 0.5, beta: 1.0, hard: true, generator: gen);
        var loss = (z * arange(10)).sum() + (y * arange(10)).sum() + (probs * probs.log()).sum();
        loss.backward();                                   // logits.grad now holds the estimated gradient

        // Module API: a categorical node inside a network; eval() makes it return the argmax.
        var model = nn.Sequential(
            ("encoder", nn.Linear(784, 10)),
            ("z", new CategoricalNode(EstimatorKind.StraightThroughGumbel, new EstimatorOptions(Tau: 1.0, Beta: 1.0), generator: gen)),
            ("decoder", nn.Linear(10, 784)));
        var output = model.forward(rand(new long[] { 16, 784 }, generator: gen));

        // Diagnostics: exact bias of an estimator by enumerating every joint state of 3 ternary nodes.
        Func<Tensor, Tensor> f = states => (states.select(2, 0).sum(1) - 1.5).pow(2);
        var report = EstimatorDiagnostics.Analyse(randn(3, 3, dtype: ScalarType.Float64), f, EstimatorKind.StraightThrough);
        Console.WriteLine($"cosine {report.CosineSimilarity:F3}, relative error {report.RelativeL2Error:F3}");
        // README:end
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
        foreach (var line in lines)
            Assert.True(text.Contains(line, StringComparison.Ordinal), $"{page} lacks the quick-start line: {line}");
    }
}
