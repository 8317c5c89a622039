import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { registerSecondOrderGradients } from '../src/curvature/secondOrderGradients.ts';
await tf.setBackend('cpu');
registerSecondOrderGradients();
// tanh conv + maxpool + avgpool net, HVP vs central diff of gradient
const x = tf.randomNormal([3, 6, 6, 2], 0, 1, 'float32', 1) as tf.Tensor4D;
const W = tf.randomNormal([3, 3, 2, 3], 0, 0.5, 'float32', 2);
const W2 = tf.randomNormal([27, 4], 0, 0.5, 'float32', 3);
function f(w: tf.Tensor, w2: tf.Tensor) {
  let h = tf.tanh(tf.conv2d(x, w as tf.Tensor4D, 1, 'same'));
  h = tf.maxPool(h, 2, 2, 'valid');
  h = tf.avgPool(tf.relu(h), [1,1], 1, 'valid');
  const z = tf.matMul(tf.reshape(h, [3, 27]), w2);
  return tf.sum(tf.mul(tf.logSoftmax(z), tf.sigmoid(tf.randomNormal([3,4],0,1,"float32",9))));
}
const vs = [tf.randomNormal(W.shape, 0, 1, 'float32', 4), tf.randomNormal(W2.shape, 0, 1, 'float32', 5)];
const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => f(a, b));
const hv = tf.grads((a: tf.Tensor, b: tf.Tensor) => { const gg = g([a, b]); return tf.add(tf.sum(tf.mul(gg[0]!, vs[0]!)), tf.sum(tf.mul(gg[1]!, vs[1]!))); })([W, W2]);
const h = 1e-2;
const gp = g([tf.add(W, tf.mul(h, vs[0]!)), tf.add(W2, tf.mul(h, vs[1]!))]);
const gm = g([tf.sub(W, tf.mul(h, vs[0]!)), tf.sub(W2, tf.mul(h, vs[1]!))]);
for (let k = 0; k < 2; k++) {
  const fd = tf.div(tf.sub(gp[k]!, gm[k]!), 2 * h);
  const err = tf.norm(tf.sub(fd, hv[k]!)).dataSync()[0]! / tf.norm(fd).dataSync()[0]!;
  console.log('param', k, 'rel err', err, tf.norm(fd).dataSync()[0]);
}
