using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace DiscreteGrad.Experiments.Nri;

/// <summary>
/// The edges of the fully connected graph on n vertices in the two orders the model uses: the n (n - 1) directed edges
/// d = (receiver i, sender j), i != j, row-major (the references' rel_rec / rel_send), and the m = n (n - 1) / 2 undirected
/// edges e = {i, j}, i &lt; j, row-major (<see cref="DiscreteGrad.Solvers.SpanningTreeLayout.EdgeList"/>).
/// </summary>
public sealed class CompleteGraph
{
    /// <summary>Builds the index tables for <paramref name="n"/> vertices.</summary>
    public CompleteGraph(int n)
    {
        Guard.AtLeast(n, 2, nameof(n));
        N = n;
        var undirected = new int[n, n];
        int e = 0;
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++, e++) undirected[i, j] = undirected[j, i] = e;
        var rec = new List<long>();
        var send = new List<long>();
        var toUndirected = new List<long>();
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
            {
                if (i == j) continue;
                rec.Add(i);
                send.Add(j);
                toUndirected.Add(undirected[i, j]);
            }
        Receivers = rec.ToArray();
        Senders = send.ToArray();
        DirectedToUndirected = toUndirected.ToArray();
    }

    /// <summary>Vertices n.</summary>
    public int N { get; }
    /// <summary>Directed edges n (n - 1).</summary>
    public int Directed => N * (N - 1);
    /// <summary>Undirected edges n (n - 1) / 2.</summary>
    public int Undirected => N * (N - 1) / 2;
    /// <summary>Receiver i of directed edge d.</summary>
    public long[] Receivers { get; }
    /// <summary>Sender j of directed edge d.</summary>
    public long[] Senders { get; }
    /// <summary>Undirected edge {i, j} of directed edge d.</summary>
    public long[] DirectedToUndirected { get; }

    /// <summary>One-hot [n (n - 1), n] of the receivers (rel_rec) or senders (rel_send), float32.</summary>
    public Tensor OneHot(bool receivers, Device? device = null)
    {
        var idx = receivers ? Receivers : Senders;
        var a = new float[idx.Length * N];
        for (int d = 0; d < idx.Length; d++) a[d * N + idx[d]] = 1;
        var t = torch.tensor(a, new long[] { idx.Length, N });
        return device is null ? t : t.to(device);
    }
}

/// <summary>
/// The two-layer ELU MLP of NRI (Kipf, Fetaya, Wang, Welling and Zemel, "Neural Relational Inference for Interacting
/// Systems", ICML 2018): fc1, ELU, fc2, ELU, batch norm over every row of [B, rows, features]. Linear weights
/// Xavier-normal, biases 0.1; batch norm weight 1, bias 0.
/// </summary>
public sealed class NriMlp : nn.Module<Tensor, Tensor>
{
    private readonly Linear fc1, fc2;
    private readonly BatchNorm1d bn;

    /// <summary>Creates the MLP in -&gt; hidden -&gt; out.</summary>
    public NriMlp(long inputs, long hidden, long outputs) : base(nameof(NriMlp))
    {
        fc1 = NriInit.XavierBias(nn.Linear(inputs, hidden));
        fc2 = NriInit.XavierBias(nn.Linear(hidden, outputs));
        bn = nn.BatchNorm1d(outputs);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        var h = F.elu(fc2.call(F.elu(fc1.call(x), 1.0)), 1.0);
        var shape = h.shape;
        return bn.call(h.reshape(-1, shape[^1])).reshape(shape);
    }
}

internal static class NriInit
{
    public static Linear XavierBias(Linear layer)
    {
        using var _ = torch.no_grad();
        nn.init.xavier_normal_(layer.weight!);
        layer.bias!.fill_(0.1);
        return layer;
    }
}

/// <summary>
/// NRI's factor-graph MLP encoder: trajectories [B, n, T, dim] to one logit per directed edge [B, n (n - 1)].
/// h_i = mlp1(x_i); h_(i,j) = mlp2([h_j, h_i]) (sender, receiver); h_i = mlp3(sum_{d into i} h_d / n);
/// h_(i,j) = mlp4([h_j, h_i, h_(i,j) of mlp2]); logit_(i,j) = fc_out(h_(i,j)). fc_out Xavier-normal, bias 0.1.
/// </summary>
public sealed class NriEncoder : nn.Module<Tensor, Tensor>
{
    private readonly NriMlp mlp1, mlp2, mlp3, mlp4;
    private readonly Linear fc_out;
    private readonly Tensor rel_rec, rel_send;

    /// <summary>Creates the encoder for inputs of <paramref name="features"/> = T * dim per vertex.</summary>
    public NriEncoder(CompleteGraph graph, long features, long hidden) : base(nameof(NriEncoder))
    {
        ArgumentNullException.ThrowIfNull(graph);
        mlp1 = new NriMlp(features, hidden, hidden);
        mlp2 = new NriMlp(2 * hidden, hidden, hidden);
        mlp3 = new NriMlp(hidden, hidden, hidden);
        mlp4 = new NriMlp(3 * hidden, hidden, hidden);
        fc_out = NriInit.XavierBias(nn.Linear(hidden, 1));
        rel_rec = graph.OneHot(receivers: true);
        rel_send = graph.OneHot(receivers: false);
        RegisterComponents();
    }

    /// <summary>Directed-edge logits [B, n (n - 1)] of trajectories [B, n, T, dim].</summary>
    public override Tensor forward(Tensor inputs)
    {
        using var scope = torch.NewDisposeScope();
        var x = inputs.reshape(inputs.shape[0], inputs.shape[1], -1);
        x = mlp1.call(x);
        x = NodeToEdge(x);
        x = mlp2.call(x);
        var skip = x;
        x = rel_rec.t().matmul(x) / rel_rec.shape[1];          // edge2node: sum over the incoming edges / n, as the references
        x = mlp3.call(x);
        x = torch.cat(new[] { NodeToEdge(x), skip }, 2);
        x = mlp4.call(x);
        return scope.MoveToOuter(fc_out.call(x).squeeze(-1));
    }

    private Tensor NodeToEdge(Tensor x) => torch.cat(new[] { rel_send.matmul(x), rel_rec.matmul(x) }, 2);
}

/// <summary>
/// NRI's MLP decoder with two edge types (type 0 "no edge", weight 1 - z; type 1 "edge", weight z): one step maps
/// positions x [.., n, dim] to x + out(x_i, sum_{j} sum_t w_t(i,j) msg_t(x_j, x_i)) with msg_t = ReLU(fc2_t(ReLU(fc1_t([x_j, x_i]))))
/// and out a ReLU MLP (dim + H -&gt; H -&gt; H -&gt; dim). In training the decoder rolls out P steps from every P-th frame
/// (teacher forcing in between); P = 1 is one-step prediction from every frame. PyTorch's default initialisation.
/// </summary>
public sealed class NriDecoder : nn.Module
{
    private readonly ModuleList<Linear> msg_fc1, msg_fc2;
    private readonly Linear out_fc1, out_fc2, out_fc3;
    private readonly Tensor rel_rec, rel_send;

    /// <summary>Creates the decoder.</summary>
    public NriDecoder(CompleteGraph graph, long dims, long hidden) : base(nameof(NriDecoder))
    {
        ArgumentNullException.ThrowIfNull(graph);
        msg_fc1 = new ModuleList<Linear>(nn.Linear(2 * dims, hidden), nn.Linear(2 * dims, hidden));
        msg_fc2 = new ModuleList<Linear>(nn.Linear(hidden, hidden), nn.Linear(hidden, hidden));
        out_fc1 = nn.Linear(dims + hidden, hidden);
        out_fc2 = nn.Linear(hidden, hidden);
        out_fc3 = nn.Linear(hidden, dims);
        rel_rec = graph.OneHot(receivers: true);
        rel_send = graph.OneHot(receivers: false);
        RegisterComponents();
    }

    /// <summary>
    /// Predictions [B, n, T - 1, dim] of frames 1 .. T - 1 of <paramref name="inputs"/> [B, n, T, dim] given the directed
    /// edge weights <paramref name="edges"/> [B, n (n - 1)] in [0, 1], rolling out <paramref name="predictionSteps"/> steps from
    /// frames 0, P, 2P, ... (only the starts whose predictions are kept).
    /// </summary>
    public Tensor forward(Tensor inputs, Tensor edges, int predictionSteps)
    {
        using var scope = torch.NewDisposeScope();
        long b = inputs.shape[0], n = inputs.shape[1], steps = inputs.shape[2], d = inputs.shape[3];
        if (predictionSteps < 1 || predictionSteps > steps - 1)
            throw new ArgumentOutOfRangeException(nameof(predictionSteps), predictionSteps, $"must be in [1, {steps - 1}] (got {predictionSteps}).");
        var x = inputs.transpose(1, 2);                                     // [B, T, n, d]
        long starts = (steps - 1 + predictionSteps - 1) / predictionSteps;  // starts s P with s P < T - 1
        var last = x.index_select(1, torch.arange(0, starts * predictionSteps, predictionSteps, dtype: ScalarType.Int64, device: x.device));
        var types = torch.stack(new[] { 1 - edges, edges }, -1).unsqueeze(1);   // [B, 1, E, 2]
        var preds = new List<Tensor>();
        for (int p = 0; p < predictionSteps; p++)
        {
            last = Step(last, types);
            preds.Add(last);
        }
        var output = torch.stack(preds, 2).reshape(b, starts * predictionSteps, n, d).narrow(1, 0, steps - 1);
        return scope.MoveToOuter(output.transpose(1, 2));
    }

    private Tensor Step(Tensor x, Tensor types)
    {
        var pre = torch.cat(new[] { rel_send.matmul(x), rel_rec.matmul(x) }, -1);   // [B, S, E, 2d]
        Tensor? all = null;
        for (int t = 0; t < 2; t++)
        {
            var msg = F.relu(msg_fc2[t].call(F.relu(msg_fc1[t].call(pre))));
            msg = msg * types.narrow(-1, t, 1);
            all = all is null ? msg : all + msg;
        }
        var aggregated = rel_rec.t().matmul(all!);                         // [B, S, n, H]: sum over incoming edges
        var h = F.relu(out_fc1.call(torch.cat(new[] { x, aggregated }, -1)));
        h = F.relu(out_fc2.call(h));
        return x + out_fc3.call(h);
    }
}
