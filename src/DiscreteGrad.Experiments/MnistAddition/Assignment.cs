namespace DiscreteGrad.Experiments.MnistAddition;

/// <summary>
/// Maximum-weight perfect matching on a square matrix (Hungarian algorithm, O(n^3)). Used to read the discrete node's
/// categories as digits: the node learns the digits only up to a permutation, so its per-digit accuracy is measured under
/// the best one-to-one mapping of categories to digits.
/// </summary>
public static class Assignment
{
    /// <summary>For each row, the column assigned to it, maximising the sum of the chosen weights.</summary>
    public static int[] Maximise(double[,] weights)
    {
        int n = weights.GetLength(0);
        if (weights.GetLength(1) != n) throw new ArgumentException("weights must be square.", nameof(weights));
        double max = 0;
        foreach (var w in weights) max = Math.Max(max, w);
        // Minimise cost = max - w with the classic potentials formulation (1-based arrays).
        var u = new double[n + 1]; var v = new double[n + 1];
        var p = new int[n + 1]; var way = new int[n + 1];
        for (int i = 1; i <= n; i++)
        {
            p[0] = i;
            int j0 = 0;
            var minv = Enumerable.Repeat(double.PositiveInfinity, n + 1).ToArray();
            var used = new bool[n + 1];
            do
            {
                used[j0] = true;
                int i0 = p[j0], j1 = 0;
                double delta = double.PositiveInfinity;
                for (int j = 1; j <= n; j++)
                {
                    if (used[j]) continue;
                    double cur = (max - weights[i0 - 1, j - 1]) - u[i0] - v[j];
                    if (cur < minv[j]) { minv[j] = cur; way[j] = j0; }
                    if (minv[j] < delta) { delta = minv[j]; j1 = j; }
                }
                for (int j = 0; j <= n; j++)
                    if (used[j]) { u[p[j]] += delta; v[j] -= delta; }
                    else minv[j] -= delta;
                j0 = j1;
            } while (p[j0] != 0);
            do { int j1 = way[j0]; p[j0] = p[j1]; j0 = j1; } while (j0 != 0);
        }
        var result = new int[n];
        for (int j = 1; j <= n; j++) result[p[j] - 1] = j - 1;
        return result;
    }
}
