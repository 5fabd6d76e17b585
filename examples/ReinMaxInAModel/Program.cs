// ReinMax (Liu, Zhao, Gao, Cheng, Gao and Wang 2023, "Bridging Discrete and Backpropagation: Straight-Through and
// Beyond") dropped into an existing model: a classifier whose hidden layer is 8 discrete codes of 4 categories. The model
// was written with a softmax bottleneck; making it discrete is the one line marked below. Synthetic data: 4 classes,
// Gaussian clusters in 16 dimensions.
using TorchSharp;
using TorchSharp.Modules;
using static DiscreteGrad.discrete;
using static TorchSharp.torch;

int steps = 200;
if (args.Length > 0 && !(args is ["--steps", var s] && int.TryParse(s, out steps) && steps >= 1))
{
    Console.Error.WriteLine("usage: ReinMaxInAModel [--steps N], N >= 1 (default 200)");
    return 2;
}

torch.random.manual_seed(0);                                  // the modules' initial weights
var data = new Generator(1);
var centres = randn(new long[] { 4, 16 }, generator: data) * 1.5;
(Tensor X, Tensor Y) Draw(long count)
{
    var y = randint(4, new long[] { count }, generator: data);
    return (centres[y] + randn(new long[] { count, 16 }, generator: data), y);
}

var model = new Classifier(new Generator(2));
var optimizer = optim.Adam(model.parameters(), lr: 1e-2);
var (testX, testY) = Draw(2000);
double Accuracy()
{
    using var _ = no_grad();
    return (model.forward(testX).argmax(-1) == testY).to(float32).mean().item<float>();
}

double before = Accuracy(), firstLoss = double.NaN, loss = double.NaN;
Console.WriteLine($"step 0: test accuracy {before:P1}");
for (int step = 1; step <= steps; step++)
{
    using var scope = NewDisposeScope();
    var (x, y) = Draw(128);
    var l = nn.functional.cross_entropy(model.forward(x), y);
    optimizer.zero_grad();
    l.backward();
    optimizer.step();
    loss = l.item<float>();
    if (step == 1) firstLoss = loss;
    if (step % Math.Max(1, steps / 5) == 0) Console.WriteLine($"step {step}: train loss {loss:F3}");
}
double after = Accuracy();
Console.WriteLine($"train loss {firstLoss:F3} -> {loss:F3}, test accuracy {before:P1} -> {after:P1} after {steps} steps");
return 0;

sealed class Classifier : nn.Module<Tensor, Tensor>
{
    private readonly Linear encoder = nn.Linear(16, 8 * 4), head = nn.Linear(8 * 4, 4);
    private readonly Generator generator;

    public Classifier(Generator generator) : base(nameof(Classifier))
    {
        this.generator = generator;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var logits = encoder.forward(x).view(-1, 8, 4);
        // Was: var codes = nn.functional.softmax(logits, -1);
        var codes = functional.reinmax(logits, tau: 1.0, generator: generator).y_hard;   // one-hot codes, ReinMax's gradient
        return head.forward(codes.view(-1, 8 * 4));
    }
}
