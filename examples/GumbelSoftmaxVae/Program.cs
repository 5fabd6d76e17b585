// A VAE with a categorical latent (4 codes of 8 categories) trained with Gumbel-softmax (Jang, Gu and Poole 2017,
// "Categorical Reparameterization with Gumbel-Softmax"; Maddison, Mnih and Teh 2017, "The Concrete Distribution") on
// synthetic binary data: 32-bit prototypes with 5% of their bits flipped. Prints the -ELBO (nats per example).
using TorchSharp;
using static DiscreteGrad.discrete;
using static TorchSharp.torch;

int steps = 300;
if (args.Length > 0 && !(args is ["--steps", var s] && int.TryParse(s, out steps) && steps >= 1))
{
    Console.Error.WriteLine("usage: GumbelSoftmaxVae [--steps N], N >= 1 (default 300)");
    return 2;
}
const int D = 32, N = 4, K = 8, Batch = 64;

torch.random.manual_seed(0);                                  // the modules' initial weights
var data = new Generator(1);                                  // the data
var noise = new Generator(2);                                 // the Gumbel noise
var prototypes = (rand(new long[] { 16, D }, generator: data) < 0.5).to(float32);
Tensor Draw(long count)
{
    var rows = prototypes[randint(16, new long[] { count }, generator: data)];
    var flip = (rand(new long[] { count, D }, generator: data) < 0.05).to(float32);
    return (rows - flip).abs();                               // flips 5% of the bits
}

var encoder = nn.Sequential(nn.Linear(D, 128), nn.ReLU(), nn.Linear(128, N * K));
var decoder = nn.Sequential(nn.Linear(N * K, 128), nn.ReLU(), nn.Linear(128, D));
var optimizer = optim.Adam(encoder.parameters().Concat(decoder.parameters()), lr: 3e-3);

// -ELBO = E_q[-log p(x | z)] + KL(q(z | x) || uniform), one sample of z per example.
Tensor NegativeElbo(Tensor x, double tau)
{
    var logits = encoder.forward(x).view(-1, N, K);
    var z = functional.gumbel_softmax(logits, tau: tau, generator: noise);      // relaxed one-hot codes [B, N, K]
    var reconstruction = nn.functional.binary_cross_entropy_with_logits(
        decoder.forward(z.view(-1, N * K)), x, reduction: nn.Reduction.Sum) / x.shape[0];
    var q = nn.functional.softmax(logits, -1);
    var kl = (q * (nn.functional.log_softmax(logits, -1) + Math.Log(K))).sum() / x.shape[0];
    return reconstruction + kl;
}

var test = Draw(1000);
double Evaluate() { using var _ = no_grad(); return NegativeElbo(test, tau: 0.5).item<float>(); }
double before = Evaluate();
Console.WriteLine($"step 0: test -ELBO {before:F2}");
for (int step = 1; step <= steps; step++)
{
    using var scope = NewDisposeScope();
    double tau = Math.Max(0.5, Math.Exp(-3e-3 * step));       // anneal tau from 1 to 0.5
    var loss = NegativeElbo(Draw(Batch), tau);
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    if (step % Math.Max(1, steps / 6) == 0 || step == steps)
        Console.WriteLine($"step {step}: train -ELBO {loss.item<float>():F2}, tau {tau:F2}");
}
double after = Evaluate();
Console.WriteLine($"test -ELBO {before:F2} -> {after:F2} after {steps} steps ({(after < before ? "learned" : "not yet lower")})");
return 0;
